// The one choice of IMAP login mechanism, for the probe (`mailbox test`) and the reader (`mailbox
// run`, through imapflow's `auth.loginMethod`): from the account and the server's capabilities.
// The account's own mechanism when it names one. Else imapflow's order: PLAIN, then SASL LOGIN, then
// the LOGIN command; a user name with "\" or "/" (Exchange's DOMAIN\user, a shared mailbox) takes
// the LOGIN command first, as imapflow does for Exchange. For OAuth 2.0: OAUTHBEARER, then XOAUTH2
// (imapflow has no option for that order, so ours follows it). imapflow has no challenge-response
// mechanism (SCRAM, CRAM-MD5), so IMAP never prefers one, unlike POP3 and SMTP.
import type { Account, AuthMechanism } from '../../core/account.js';
import { protocolError } from '../errors.js';
import { useSecurity } from '../net/security-advice.js';

export type ImapMechanism = 'AUTHENTICATE PLAIN' | 'AUTHENTICATE LOGIN' | 'LOGIN' | 'OAUTHBEARER' | 'XOAUTH2';

/** imapflow's `auth.loginMethod` for each mechanism (OAuth mechanisms it picks itself, in our order). */
export const IMAPFLOW_LOGIN_METHOD: Record<ImapMechanism, string> = {
  'AUTHENTICATE PLAIN': 'AUTH=PLAIN',
  'AUTHENTICATE LOGIN': 'AUTH=LOGIN',
  LOGIN: 'LOGIN',
  OAUTHBEARER: 'AUTH=OAUTHBEARER',
  XOAUTH2: 'AUTH=XOAUTH2',
};

/** The SASL mechanisms a capability list offers ("AUTH=PLAIN" -> "PLAIN"), upper case. */
export function imapMechanismsOffered(capabilities: Iterable<string>): string[] {
  return [...capabilities].map((c) => c.toUpperCase()).filter((c) => c.startsWith('AUTH=')).map((c) => c.slice(5));
}

/** The account's mechanism names as the IMAP mechanisms (imapflow's set: no SCRAM or CRAM-MD5). */
const BY_NAME: Partial<Record<AuthMechanism, ImapMechanism>> = { plain: 'AUTHENTICATE PLAIN', login: 'AUTHENTICATE LOGIN', command: 'LOGIN', xoauth2: 'XOAUTH2', oauthbearer: 'OAUTHBEARER' };

/** The mechanism the account insists on, when the server offers it; fails (77) otherwise. */
function insisted(account: Pick<Account, 'name'>, name: AuthMechanism, upper: ReadonlySet<string>, offered: readonly string[], shown: string): ImapMechanism {
  const mechanism = BY_NAME[name];
  const available = mechanism === 'LOGIN' ? !upper.has('LOGINDISABLED') : mechanism === 'XOAUTH2' ? offered.includes('XOAUTH2') || offered.includes('XOAUTH') : offered.includes(mechanism?.replace('AUTHENTICATE ', '') ?? '');
  if (mechanism && available) return mechanism;
  throw protocolError({
    code: 'EAUTH',
    message: `account ${account.name}: the server does not offer ${mechanism ?? name}, the mechanism the account insists on (offers: ${shown}${upper.has('LOGINDISABLED') ? ', LOGINDISABLED' : ''})`,
    hint: 'let mailbox choose among what the server offers',
    fixes: [{ field: 'authMechanism', clear: true }],
    account: account.name,
  });
}

/** The mechanism to log in with; fails (77) when the server offers none the account can use. */
export function chooseImapMechanism(account: Pick<Account, 'name' | 'auth' | 'user' | 'authMechanism'>, capabilities: Iterable<string>): ImapMechanism {
  const upper = new Set([...capabilities].map((c) => c.toUpperCase()));
  const offered = imapMechanismsOffered(upper);
  const shown = offered.join(' ') || 'LOGIN only';
  if (account.authMechanism) return insisted(account, account.authMechanism, upper, offered, shown);
  if (account.auth === 'oauth2') {
    if (offered.includes('OAUTHBEARER')) return 'OAUTHBEARER';
    if (offered.includes('XOAUTH2') || offered.includes('XOAUTH')) return 'XOAUTH2';
    throw protocolError({
      code: 'EAUTH',
      message: `account ${account.name}: the server does not offer OAUTHBEARER or XOAUTH2 (offers ${shown})`,
      hint: 'use password authentication, or a server that supports OAuth 2.0',
      fixes: [{ field: 'auth', value: 'password' }],
      account: account.name,
    });
  }
  if (/[\\/]/.test(account.user ?? '') && !upper.has('LOGINDISABLED')) return 'LOGIN';
  if (offered.includes('PLAIN')) return 'AUTHENTICATE PLAIN';
  if (offered.includes('LOGIN')) return 'AUTHENTICATE LOGIN';
  if (upper.has('LOGINDISABLED')) {
    throw protocolError({
      code: 'EAUTH',
      message: `account ${account.name}: the server refuses to log in on this connection (LOGINDISABLED, mechanisms offered: ${shown})`,
      hint: 'the server wants TLS first',
      fixes: [useSecurity('tls'), useSecurity('starttls')],
      account: account.name,
    });
  }
  return 'LOGIN';
}
