// RFC 8628 device authorization: the user opens a URL on any device and types the code shown; we
// poll the token endpoint at the interval the server gives (openid-client honours slow_down and
// authorization_pending), until the user approves, denies, the code expires, or our time runs out.
import { MailboxError } from '../../core/errors.js';
import { configuration, tokenResult, type OAuthClient, type TokenResult } from './client.js';
import { oauthFailure } from './failures.js';

export interface DevicePrompt {
  verificationUri: string;
  /** The URL with the code in it, when the server offers one. */
  verificationUriComplete?: string;
  userCode: string;
  /** Seconds the code is valid. */
  expiresIn: number;
}

export interface DeviceFlowOptions {
  scopes: readonly string[];
  account: string;
  /** Shows the user what to do; called once, before polling starts. */
  prompt: (prompt: DevicePrompt) => void;
  /** Our own limit (--timeout), besides the code's expiry; ms. */
  timeoutMs?: number;
  now: () => number;
}

export async function deviceFlow(client: OAuthClient, options: DeviceFlowOptions): Promise<TokenResult> {
  const { oidc, config } = await configuration(client);
  const what = `the device authorization of account ${options.account}`;
  let start: Awaited<ReturnType<typeof oidc.initiateDeviceAuthorization>>;
  try {
    start = await oidc.initiateDeviceAuthorization(config, options.scopes.length ? { scope: options.scopes.join(' ') } : {});
  } catch (err) {
    throw oauthFailure(err, `starting ${what}`, options.account);
  }
  options.prompt({
    verificationUri: start.verification_uri,
    ...(start.verification_uri_complete ? { verificationUriComplete: start.verification_uri_complete } : {}),
    userCode: start.user_code,
    expiresIn: start.expires_in,
  });
  const ours = options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined;
  const expiry = AbortSignal.timeout(start.expires_in * 1000);
  try {
    const response = await oidc.pollDeviceAuthorizationGrant(config, start, undefined, { signal: ours ? AbortSignal.any([ours, expiry]) : expiry });
    return tokenResult(response, options.now());
  } catch (err) {
    if (ours?.aborted) {
      throw new MailboxError('ETIMEDOUT', `${what} was not completed within ${Math.round(options.timeoutMs! / 1000)} s`, {
        account: options.account,
        hint: 'run mailbox authorize again and enter the code in time (or give a longer --timeout)',
      });
    }
    const error = (err as { error?: string }).error;
    if (expiry.aborted || error === 'expired_token') {
      throw new MailboxError('EAUTH', `${what} expired before the code was entered`, { account: options.account, hint: `run mailbox authorize ${options.account} again and enter the code within ${Math.round(start.expires_in / 60)} minutes` });
    }
    if (error === 'access_denied' || error === 'authorization_declined') {
      throw new MailboxError('EAUTH', `${what} was denied by the user or the provider`, { account: options.account, hint: 'nothing was stored; run mailbox authorize again and approve the request' });
    }
    throw oauthFailure(err, what, options.account);
  }
}
