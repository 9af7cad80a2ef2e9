// The token manager owns an OAuth 2.0 account's token life: the cached access token reused until 5
// minutes before it expires; otherwise refreshed (or, for app-only access, obtained again), one
// refresh at a time per account across processes, and a rotated refresh token stored together with
// its access token before that token is used. A refused grant (invalid_grant: revoked, expired,
// reused) is the account's "needs authorization" (77, `mailbox authorize NAME`).
import type { Account } from '../../core/account.js';
import { MailboxError } from '../../core/errors.js';
import { oauthEndpoints, profileOf, type OAuthProfile } from '../../core/oauth.js';
import type { LookupFn } from '../../protocols/net/socket.js';
import type { OAuthClient, TokenResult } from '../../protocols/oauth/client.js';
import type { SecretStore } from '../../store/secrets.js';
import type { StoredTokens, TokenStores } from '../../store/tokens/types.js';

/** An access token is reused until this long before it expires. */
export const REUSE_MARGIN_MS = 5 * 60_000;
/** A token whose server gave no expires_in is treated as valid this long. */
const UNKNOWN_LIFETIME_MS = 55 * 60_000;

export interface AccessToken {
  token: string;
  /** cached: reused; refreshed: from the refresh token (now or by another process just before); obtained: client credentials again. */
  source: 'cached' | 'refreshed' | 'obtained';
  store: 'keychain' | 'file' | 'database';
  expiresAt?: number;
  scope?: string;
  profile: string;
}

/** The token endpoint's grants (protocols/oauth/client.ts; replaced in unit tests). */
export interface Grants {
  refresh(client: OAuthClient, refreshToken: string, scopes: readonly string[], account: string, now: () => number): Promise<TokenResult>;
  clientCredentials(client: OAuthClient, scopes: readonly string[], account: string, now: () => number): Promise<TokenResult>;
}

export interface TokenManagerDeps {
  stores: TokenStores;
  /** The profiles in effect, read when a token is needed. */
  profiles: () => Promise<readonly OAuthProfile[]>;
  /** Resolves a profile's client secret reference. */
  secrets: Pick<SecretStore, 'resolve'>;
  clock: () => Date;
  grants?: Grants;
  /** MAILBOX_DNS_SERVERS: the token endpoint's host name resolved through it; absent: the system's. */
  lookup?: LookupFn;
}

export interface TokenRequest {
  /** The access token a server just refused: never handed out again. */
  rejected?: string;
  /** Ends a token request under way (the caller's deadline). */
  signal?: AbortSignal;
}

/** The account must be authorized (again): 77 with the command that does it. */
export function needsAuthorization(account: string, why: string): MailboxError {
  return new MailboxError('EAUTH', `account ${account} needs authorization: ${why}`, { account, hint: `authorize it: mailbox authorize ${account}` });
}

async function defaultGrants(): Promise<Grants> {
  const { refreshGrant, clientCredentialsGrant } = await import('../../protocols/oauth/client.js');
  return { refresh: refreshGrant, clientCredentials: clientCredentialsGrant };
}

/** The client a profile describes, its secret resolved now; its requests resolve host names through `lookup` when given. */
export async function oauthClient(profile: OAuthProfile, secrets: Pick<SecretStore, 'resolve'>, lookup?: LookupFn): Promise<OAuthClient> {
  const clientSecret = profile.clientSecret ? await secrets.resolve(profile.clientSecret, `OAuth profile ${profile.name}`) : undefined;
  return { endpoints: oauthEndpoints(profile), clientId: profile.clientId, ...(clientSecret ? { clientSecret } : {}), ...(lookup ? { lookup } : {}) };
}

export class TokenManager {
  constructor(private readonly deps: TokenManagerDeps) {}

  private now(): number {
    return this.deps.clock().getTime();
  }

  /** Whether stored tokens hold an access token to reuse now. */
  private usable(tokens: StoredTokens, request: TokenRequest): tokens is StoredTokens & { accessToken: string } {
    if (!tokens.accessToken || tokens.accessToken === request.rejected) return false;
    const expiresAt = tokens.expiresAt ?? tokens.updatedAt + UNKNOWN_LIFETIME_MS;
    return expiresAt - this.now() > REUSE_MARGIN_MS;
  }

  async profileFor(account: Pick<Account, 'name' | 'oauth'>): Promise<OAuthProfile> {
    const profile = profileOf(await this.deps.profiles(), account);
    if (!profile) throw new MailboxError('ECONFIG', `account ${account.name} has no OAuth profile`, { account: account.name, fixes: [{ field: 'oauth', value: 'PROFILE' }] });
    return profile;
  }

  private async loadFor(account: Account, profile: OAuthProfile): Promise<StoredTokens> {
    const store = this.deps.stores.of(account.tokenStore);
    const tokens = await store.load(account.name);
    if (!tokens) throw needsAuthorization(account.name, `no OAuth tokens are kept for it (${store.kind === 'file' ? 'token file' : store.kind})`);
    if (tokens.clientId !== profile.clientId) throw needsAuthorization(account.name, `its tokens were issued to another client id than profile ${profile.name} has now`);
    return tokens;
  }

  /** An access token to log in with now. */
  async get(account: Account, request: TokenRequest = {}): Promise<AccessToken> {
    const profile = await this.profileFor(account);
    const store = this.deps.stores.of(account.tokenStore);
    const seen = await this.loadFor(account, profile);
    if (this.usable(seen, request)) return this.handOut(seen, 'cached', store.kind);
    return this.deps.stores.locks.exclusive(account.name, async () => {
      // Another process may have refreshed while we waited: its token is ours too.
      const tokens = await this.loadFor(account, profile);
      if (this.usable(tokens, request)) return this.handOut(tokens, tokens.updatedAt > seen.updatedAt ? 'refreshed' : 'cached', store.kind);
      return this.renew(account, profile, tokens, request.signal);
    });
  }

  private handOut(tokens: StoredTokens & { accessToken: string }, source: AccessToken['source'], store: AccessToken['store']): AccessToken {
    return { token: tokens.accessToken, source, store, profile: tokens.profile, ...(tokens.expiresAt ? { expiresAt: tokens.expiresAt } : {}), ...(tokens.scope ? { scope: tokens.scope } : {}) };
  }

  /** Under the account's lock: a new access token, stored (with a rotated refresh token) before it is handed out. */
  private async renew(account: Account, profile: OAuthProfile, tokens: StoredTokens, signal?: AbortSignal): Promise<AccessToken> {
    const grants = this.deps.grants ?? (await defaultGrants());
    const client = { ...(await oauthClient(profile, this.deps.secrets, this.deps.lookup)), ...(signal ? { signal } : {}) };
    const endpoints = oauthEndpoints(profile);
    const now = () => this.now();
    let result: TokenResult;
    let source: AccessToken['source'];
    if (tokens.flow === 'client-credentials') {
      result = await grants.clientCredentials(client, endpoints.appScopes, account.name, now);
      source = 'obtained';
    } else {
      if (!tokens.refreshToken) {
        throw needsAuthorization(account.name, 'its access token expired and the provider gave no refresh token (Microsoft needs the offline_access scope; Google gives one at the consent of the browser flow)');
      }
      result = await grants.refresh(client, tokens.refreshToken, endpoints.scopes, account.name, now);
      source = 'refreshed';
    }
    const next: StoredTokens = {
      flow: tokens.flow,
      profile: profile.name,
      clientId: profile.clientId,
      // A provider that rotates hands out a new refresh token: the old one is spent, so the new one
      // must be kept before anything uses the new access token.
      ...(result.refreshToken ?? tokens.refreshToken ? { refreshToken: result.refreshToken ?? tokens.refreshToken } : {}),
      accessToken: result.accessToken,
      ...(result.expiresAt ? { expiresAt: result.expiresAt } : {}),
      ...(result.scope ?? tokens.scope ? { scope: result.scope ?? tokens.scope } : {}),
      updatedAt: this.now(),
    };
    const store = this.deps.stores.of(account.tokenStore);
    try {
      await store.save(account.name, next);
    } catch (err) {
      const rotated = result.refreshToken && result.refreshToken !== tokens.refreshToken;
      const why = err instanceof MailboxError ? err.message : String(err);
      throw new MailboxError(err instanceof MailboxError ? err.code : 'EIO', `account ${account.name}: the new OAuth tokens could not be stored (${why})${rotated ? '; the provider rotated the refresh token, so the account must be authorized again once the store works' : ''}`, {
        account: account.name,
        hint: rotated ? `fix the token store, then: mailbox authorize ${account.name}` : err instanceof MailboxError ? err.hint : undefined,
        fixes: err instanceof MailboxError ? err.fixes : undefined,
        cause: err,
      });
    }
    return this.handOut(next as StoredTokens & { accessToken: string }, source, store.kind);
  }
}
