// `mailbox authorize`: runs a flow for an account and keeps its tokens. The store is checked before
// any flow starts (no keychain: nothing is asked of the user, nothing written), and the tokens are
// written in one piece once the provider has answered, under the account's refresh lock.
import type { Account } from '../../core/account.js';
import { MailboxError } from '../../core/errors.js';
import { assertFlow, oauthEndpoints, type OAuthFlow, type OAuthProfile } from '../../core/oauth.js';
import type { LookupFn } from '../../protocols/net/socket.js';
import type { TokenResult } from '../../protocols/oauth/client.js';
import type { DevicePrompt } from '../../protocols/oauth/device.js';
import type { SecretStore } from '../../store/secrets.js';
import type { StoredTokens, TokenLocks, TokenStore } from '../../store/tokens/types.js';
import { oauthClient } from './token-manager.js';

export interface AuthorizeRequest {
  account: Account;
  profile: OAuthProfile;
  flow: OAuthFlow;
  store: TokenStore;
  /** Taken only to write: a sign-in that takes minutes must not hold up a runner's refresh. */
  locks: TokenLocks;
  secrets: Pick<SecretStore, 'resolve'>;
  clock: () => Date;
  timeoutMs?: number;
  /** device: shows the URL and the code. */
  onDevicePrompt: (prompt: DevicePrompt) => void;
  /** browser: shows (and maybe opens) the authorization URL. */
  onBrowserUrl: (url: string, redirectUri: string) => void;
  /** browser: lines typed on the terminal (a pasted redirect URL). */
  pasted?: AsyncIterable<string>;
  /** MAILBOX_DNS_SERVERS: the endpoints' host names resolved through it; absent: the system's. */
  lookup?: LookupFn;
}

export interface AuthorizeOutcome {
  tokens: StoredTokens;
  result: TokenResult;
}

export async function authorize(request: AuthorizeRequest): Promise<AuthorizeOutcome> {
  const { account, profile, flow } = request;
  assertFlow(profile, flow);
  const down = await request.store.check();
  if (down) throw new MailboxError(down.code, `account ${account.name}: ${down.message.replace(/^account \S+: /, '')}; nothing was asked or stored`, { hint: down.hint, fixes: down.fixes, account: account.name, cause: down });
  const client = await oauthClient(profile, request.secrets, request.lookup);
  const endpoints = oauthEndpoints(profile);
  const now = () => request.clock().getTime();
  let result: TokenResult;
  if (flow === 'device') {
    const { deviceFlow } = await import('../../protocols/oauth/device.js');
    result = await deviceFlow(client, { scopes: endpoints.scopes, account: account.name, prompt: request.onDevicePrompt, timeoutMs: request.timeoutMs, now });
  } else if (flow === 'browser') {
    const { browserFlow } = await import('../../protocols/oauth/browser.js');
    result = await browserFlow(client, {
      scopes: endpoints.scopes,
      account: account.name,
      port: profile.redirectPort,
      params: { ...endpoints.authorizationParams, ...(account.user ? { login_hint: account.user } : {}) },
      show: request.onBrowserUrl,
      pasted: request.pasted,
      timeoutMs: request.timeoutMs,
      now,
    });
  } else {
    const { clientCredentialsGrant } = await import('../../protocols/oauth/client.js');
    result = await clientCredentialsGrant(client, endpoints.appScopes, account.name, now);
  }
  const tokens: StoredTokens = {
    flow,
    profile: profile.name,
    clientId: profile.clientId,
    ...(result.refreshToken ? { refreshToken: result.refreshToken } : {}),
    accessToken: result.accessToken,
    ...(result.expiresAt ? { expiresAt: result.expiresAt } : {}),
    ...(result.scope ? { scope: result.scope } : {}),
    updatedAt: now(),
  };
  await request.locks.exclusive(account.name, () => request.store.save(account.name, tokens));
  return { tokens, result };
}
