// The one choice of SMTP login mechanism, for the probe (`mailbox test`) and the sender (`mailbox
// run`, through nodemailer's custom authentication, login.ts): from the account and the mechanisms
// the server's EHLO offers. The order is nodemailer's own: PLAIN, then LOGIN; for OAuth 2.0 the
// standard OAUTHBEARER (RFC 7628) where offered, else XOAUTH2.
import type { Account } from '../../core/account.js';
import { protocolError } from '../errors.js';
import { useSecurity } from '../net/security-advice.js';

export type SmtpMechanism = 'PLAIN' | 'LOGIN' | 'OAUTHBEARER' | 'XOAUTH2';

/** The mechanism to log in with; fails (77) when the server offers none the account can use. */
export function chooseSmtpMechanism(account: Pick<Account, 'name' | 'auth' | 'security'>, offered: readonly string[]): SmtpMechanism {
  const upper = offered.map((m) => m.toUpperCase());
  const wanted: SmtpMechanism[] = account.auth === 'oauth2' ? ['OAUTHBEARER', 'XOAUTH2'] : ['PLAIN', 'LOGIN'];
  const found = wanted.find((m) => upper.includes(m));
  if (found) return found;
  const beforeTls = upper.length === 0 && account.security === 'none';
  throw protocolError({
    code: 'EAUTH',
    message: `account ${account.name}: the server does not offer AUTH ${wanted.join(' or ')} (offers: ${upper.join(' ') || 'none'})`,
    ...(beforeTls
      ? { hint: 'servers often offer AUTH only after TLS', fixes: [useSecurity('starttls'), useSecurity('tls')] }
      : { hint: 'choose an authentication the server offers' }),
    account: account.name,
  });
}
