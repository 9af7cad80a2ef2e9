// The one choice of SMTP login mechanism, for the probe (`mailbox test`) and the sender (`mailbox
// run`, through nodemailer's custom authentication, login.ts): from the account and the mechanisms
// the server's EHLO offers. The account's own mechanism when it names one; else the first offered of
// the account model's order: a challenge-response mechanism (SCRAM-SHA-256, then CRAM-MD5) before
// PLAIN and LOGIN, since the password itself then never crosses the connection; for OAuth 2.0 the
// standard OAUTHBEARER (RFC 7628) where offered, else XOAUTH2.
import { AUTH_MECHANISMS_BY_TYPE, type Account } from '../../core/account.js';
import { protocolError } from '../errors.js';
import { useSecurity } from '../net/security-advice.js';

export type SmtpMechanism = 'SCRAM-SHA-256' | 'CRAM-MD5' | 'PLAIN' | 'LOGIN' | 'OAUTHBEARER' | 'XOAUTH2';

/** The mechanism to log in with; fails (77) when the server offers none the account can use. */
export function chooseSmtpMechanism(account: Pick<Account, 'name' | 'auth' | 'security' | 'authMechanism'>, offered: readonly string[]): SmtpMechanism {
  const upper = offered.map((m) => m.toUpperCase());
  const auth = account.auth === 'oauth2' ? 'oauth2' : 'password';
  const candidates: readonly string[] = account.authMechanism ? [account.authMechanism] : AUTH_MECHANISMS_BY_TYPE.smtp[auth];
  const wanted = candidates.map((m) => m.toUpperCase() as SmtpMechanism);
  const found = wanted.find((m) => upper.includes(m));
  if (found) return found;
  const beforeTls = upper.length === 0 && account.security === 'none';
  const insisted = account.authMechanism !== undefined;
  throw protocolError({
    code: 'EAUTH',
    message: `account ${account.name}: the server does not offer AUTH ${wanted.join(' or ')}${insisted ? ', the mechanism the account insists on' : ''} (offers: ${upper.join(' ') || 'none'})`,
    ...(beforeTls
      ? { hint: 'servers often offer AUTH only after TLS', fixes: [useSecurity('starttls'), useSecurity('tls')] }
      : insisted
        ? { hint: 'let mailbox choose among what the server offers', fixes: [{ field: 'authMechanism', clear: true }] }
        : { hint: 'choose an authentication the server offers' }),
    account: account.name,
  });
}
