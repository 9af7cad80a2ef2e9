// An OAuth failure in words: the provider's error code and description kept (they never carry a
// token), known provider errors explained, and the exit code a script can branch on. An
// invalid_grant is the account's to fix by authorizing again, not a temporary failure.
import { MailboxError, type ErrorCode } from '../../core/errors.js';

/** What Microsoft Entra ID (AADSTS...) and Google answer most often, and what to do about it. */
const KNOWN: Array<{ match: RegExp; hint: string }> = [
  { match: /AADSTS7000218/, hint: 'the app registration does not allow public client flows: in the Entra admin center, App registrations > the app > Authentication > Advanced settings, set "Allow public client flows" to Yes (or give the profile a client secret)' },
  { match: /AADSTS700016/, hint: 'the client id is not known in this tenant: check the profile\'s client id (the Application (client) ID of the app registration) and tenant' },
  { match: /AADSTS65001/, hint: 'consent is missing: an administrator grants it for the tenant (API permissions > Grant admin consent), or the user consents at the next authorization' },
  { match: /AADSTS50011/, hint: 'the redirect URI is not registered: the browser flow sends http://127.0.0.1:PORT/; add {"url": "http://127.0.0.1", "type": "InstalledClient"} to replyUrlsWithType in the app registration\'s Manifest (Entra ignores the port of a loopback URI), or use the device flow' },
  { match: /AADSTS70000|AADSTS50173|AADSTS700082|AADSTS50076|AADSTS50079/, hint: 'the grant has expired or was revoked (password change, MFA or sign-in policy): authorize the account again' },
  { match: /AADSTS7000215|AADSTS7000222/, hint: 'the client secret is wrong or expired: make a new one in the app registration (Certificates & secrets) and update the profile\'s secret' },
  { match: /invalid_scope/i, hint: 'the provider refuses a scope: Google does not allow its mail scope (https://mail.google.com/) on the device flow, so authorize Google accounts with --flow browser; else check the profile\'s scopes' },
  { match: /Token has been expired or revoked/i, hint: 'Google revoked the refresh token: a Google Cloud app left in "Testing" publishing status gets refresh tokens that die after 7 days (publish it to "In production"), and a password change or the user\'s removal of the app revokes them too' },
];

/** The hint for a provider's error text, when it is one of the known ones. */
export function providerHint(text: string): string | undefined {
  return KNOWN.find((k) => k.match.test(text))?.hint;
}

export interface OAuthErrorFacts {
  /** The OAuth error code (invalid_grant, access_denied, ...). */
  error?: string;
  description?: string;
  status?: number;
}

/** The facts of an error openid-client (oauth4webapi) threw. */
export function errorFacts(err: unknown): OAuthErrorFacts {
  const e = err as { error?: unknown; error_description?: unknown; status?: unknown; cause?: unknown };
  const body = (e?.cause && typeof e.cause === 'object' && !(e.cause instanceof Error) ? e.cause : {}) as Record<string, unknown>;
  const error = typeof e?.error === 'string' ? e.error : typeof body.error === 'string' ? body.error : undefined;
  const description = typeof e?.error_description === 'string' ? e.error_description : typeof body.error_description === 'string' ? body.error_description : undefined;
  return { error, description, status: typeof e?.status === 'number' ? e.status : undefined };
}

/** The first line of a provider's description (Microsoft appends trace and correlation ids). */
function firstLine(text: string | undefined): string | undefined {
  return text?.split(/\r?\n/)[0]?.trim().slice(0, 400) || undefined;
}

const NETWORK = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|EHOSTUNREACH|ENETUNREACH|fetch failed/i;

/**
 * Words a failed token request: `what` says which ("refreshing the token of account work"), `account`
 * names whose it is. invalid_grant becomes EAUTH "needs authorization".
 */
export function oauthFailure(err: unknown, what: string, account?: string): MailboxError {
  if (err instanceof MailboxError) return err;
  const facts = errorFacts(err);
  const description = firstLine(facts.description);
  const said = [facts.error, description].filter(Boolean).join(': ');
  const hintOf = (fallback: string) => providerHint(`${facts.error ?? ''} ${facts.description ?? ''}`) ?? fallback;
  if (facts.error) {
    let code: ErrorCode = 'EAUTH';
    let hint = hintOf('check the profile (client id, tenant, scopes, client secret) against the app registration');
    if (facts.error === 'invalid_grant') {
      return new MailboxError('EAUTH', `${account ? `account ${account} needs authorization: ` : ''}${what} was refused (${said})`, {
        account,
        hint: `${providerHint(`${facts.description ?? ''}`) ?? 'the refresh token was revoked, expired, or already used'}; authorize again: mailbox authorize ${account ?? 'NAME'}`,
      });
    }
    if (facts.error === 'temporarily_unavailable' || (facts.status !== undefined && facts.status >= 500)) {
      code = 'ETEMPFAIL';
      hint = 'the authorization server is having trouble: try again later';
    }
    if (facts.error === 'invalid_client' || facts.error === 'unauthorized_client') code = 'EAUTH';
    return new MailboxError(code, `${what} was refused: ${said}`, { account, hint });
  }
  const e = err as Error & { code?: string; name?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return new MailboxError('ETIMEDOUT', `${what} timed out`, { account, hint: 'the authorization server did not answer in time: try again', cause: err });
  }
  const cause = e?.cause?.code ?? e?.cause?.message ?? '';
  const detail = `${e?.message ?? String(err)}${cause ? ` (${cause})` : ''}`;
  if (/certificate|self.signed|CERT_|unable to verify/i.test(detail)) {
    return new MailboxError('ETLS', `${what} failed: the authorization server's certificate is not trusted (${detail})`, { account, hint: 'check the endpoint URL; a private CA is trusted through NODE_EXTRA_CA_CERTS', cause: err });
  }
  if (NETWORK.test(detail)) {
    return new MailboxError('EUNREACHABLE', `${what} failed: the authorization server cannot be reached (${detail})`, { account, hint: 'check the network and the endpoint URL', cause: err });
  }
  return new MailboxError('EPROTOCOL', `${what} failed: ${detail}`, { account, hint: 'the authorization server answered something that is not OAuth 2.0: check the endpoint URLs of the profile', cause: err });
}
