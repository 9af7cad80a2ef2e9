// The one place that resolves an account's credential, for every command that logs in (test, run,
// the connection test of add/edit and the wizard, authorize): a password from its secret reference
// (keychain, environment, command), or an OAuth 2.0 access token from the token manager (or, for an
// oauth2 account without a profile, from its secret reference as a token fetched elsewhere). The
// protocol adapters get the ready secret and never learn where it came from.
import type { Account } from '../core/account.js';
import { MailboxError } from '../core/errors.js';
import type { SecretStore } from '../store/secrets.js';
import type { AccessToken, TokenManager } from './oauth/token-manager.js';

export interface Credential {
  /** The password or access token, as the login sends it. */
  secret: string;
  /** From the token manager: where it came from and when it expires. */
  token?: AccessToken;
}

export interface CredentialDeps {
  secrets: Pick<SecretStore, 'resolve'>;
  /** Absent where no command wired it: an account with an OAuth profile then fails with a clear error. */
  tokens?: TokenManager;
}

export interface Credentials {
  /**
   * The credential to log in with now; undefined for an account that does not log in. `signal`: the
   * caller's stop or deadline; `limitMs`: how long a password command may take (its own default else).
   */
  get(account: Account, signal?: AbortSignal, limitMs?: number): Promise<Credential | undefined>;
  /**
   * After the server refused `used`: a new credential worth one more try (an access token that looked
   * valid is refreshed once), else undefined (a password, a token just refreshed, not an auth failure).
   */
  retry(account: Account, used: Credential | undefined, failure: unknown): Promise<Credential | undefined>;
}

function isAuthFailure(err: unknown): boolean {
  return err instanceof MailboxError && err.code === 'EAUTH';
}

export function credentialResolver(deps: CredentialDeps): Credentials {
  const tokenOf = async (account: Account, rejected?: string, signal?: AbortSignal): Promise<Credential> => {
    if (!deps.tokens) throw new MailboxError('EINTERNAL', `account ${account.name}: no token manager is wired for this command`);
    const token = await deps.tokens.get(account, { rejected, signal });
    return { secret: token.token, token };
  };
  return {
    async get(account, signal, limitMs) {
      if (account.auth === 'none') return undefined;
      if (account.auth === 'oauth2' && account.oauth) return tokenOf(account, undefined, signal);
      if (!account.secret) {
        throw new MailboxError('ESECRET', `account ${account.name} has no secret source`, { hint: 'set one', fixes: [{ field: 'password' }], account: account.name });
      }
      return { secret: await deps.secrets.resolve(account.secret, account.name, { signal, timeoutMs: limitMs }) };
    },
    async retry(account, used, failure) {
      if (!used?.token || used.token.source !== 'cached' || !isAuthFailure(failure)) return undefined;
      return tokenOf(account, used.secret);
    },
  };
}

/**
 * Runs `attempt` with the account's credential, and once more with a refreshed token when the server
 * refused an access token that looked valid (revoked early, or the clock is off).
 */
export async function withCredential<T>(credentials: Credentials, account: Account, attempt: (credential: Credential | undefined) => Promise<T>): Promise<T> {
  const first = await credentials.get(account);
  try {
    return await attempt(first);
  } catch (err) {
    const second = await credentials.retry(account, first, err);
    if (!second) throw err;
    return attempt(second);
  }
}

/** What a server's refusal of an OAuth access token means, instead of the password advice of the login. */
export function tokenRefusalHint(account: Pick<Account, 'name' | 'type'>): string {
  const protocol = account.type.toUpperCase();
  return `the server refused the OAuth access token: check that the scopes granted cover ${protocol} (mailbox test ${account.name} shows them) and that the mailbox allows OAuth logins over ${protocol}; if the grant changed, authorize again: mailbox authorize ${account.name}`;
}

/** A refused login with a token from the token manager, worded for tokens (no "store a new password"). */
export function explainRefusal(account: Account, used: Credential | undefined, err: unknown): unknown {
  if (!used?.token || !isAuthFailure(err)) return err;
  const e = err as MailboxError;
  return new MailboxError('EAUTH', e.message, { account: account.name, hint: tokenRefusalHint(account), cause: err });
}
