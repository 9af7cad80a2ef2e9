// The one choice of IMAP login mechanism, for the probe (`mailbox test`) and the reader (`mailbox
// run`, through imapflow's `auth.loginMethod`): from the account and the server's capabilities.
// The order is imapflow's own: PLAIN, then SASL LOGIN, then the LOGIN command; a user name with
// "\" or "/" (Exchange's DOMAIN\user, a shared mailbox) takes the LOGIN command first, as imapflow
// does for Exchange. For OAuth 2.0: OAUTHBEARER, then XOAUTH2 (imapflow has no option for that
// order, so ours follows it).
import type { Account } from '../../core/account.js';
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

/** The mechanism to log in with; fails (77) when the server offers none the account can use. */
export function chooseImapMechanism(account: Pick<Account, 'name' | 'auth' | 'user'>, capabilities: Iterable<string>): ImapMechanism {
  const upper = new Set([...capabilities].map((c) => c.toUpperCase()));
  const offered = imapMechanismsOffered(upper);
  const shown = offered.join(' ') || 'LOGIN only';
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
