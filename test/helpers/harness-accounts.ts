// Accounts pointing at the harness's Dovecot and SMTP server, as carol (whose password has a space,
// a quote, an '@' and UTF-8), trusting the harness CA.
import type { Account, AccountType, Security } from '../../src/core/account.js';
import type { Dovecot, SmtpServer } from '../harness/index.js';

export const CAROL = 'carol@example.test';

export function harnessAccount(servers: { dovecot: Dovecot; smtp: SmtpServer }, type: AccountType, security: Security, over: Partial<Account> = {}): Account {
  const { dovecot, smtp } = servers;
  const ports = {
    imap: { tls: dovecot.imapsPort, plain: dovecot.imapPort },
    pop3: { tls: dovecot.pop3sPort, plain: dovecot.pop3Port },
    smtp: { tls: smtp.smtpsPort, plain: smtp.smtpPort },
  }[type];
  return {
    name: `${type}-${security}`,
    type,
    host: '127.0.0.1',
    port: security === 'tls' ? ports.tls : ports.plain,
    security,
    auth: 'password',
    user: CAROL,
    secret: { kind: 'env', name: 'PW' },
    active: true,
    debug: false,
    tls: { ca: type === 'smtp' ? smtp.caFile : dovecot.caFile },
    ...(type === 'imap' ? { folder: 'INBOX' } : {}),
    ...over,
  };
}
