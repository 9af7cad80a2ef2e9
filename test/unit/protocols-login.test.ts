// The one choice of login mechanism per protocol: what the probe and the adapters both use.
import { describe, expect, it } from 'vitest';
import { hintText } from '../../src/cli/hints.js';
import { MailboxError } from '../../src/core/errors.js';
import { chooseImapMechanism, IMAPFLOW_LOGIN_METHOD } from '../../src/protocols/imap/mechanism.js';
import { imapflowAuth } from '../../src/protocols/imap/imapflow.js';
import { choosePop3Mechanism } from '../../src/protocols/pop3/login.js';
import { chooseSmtpMechanism } from '../../src/protocols/smtp/mechanism.js';

const password = { name: 'w', auth: 'password' as const, user: 'ann', security: 'tls' as const };
const oauth = { ...password, auth: 'oauth2' as const };

function failure(run: () => unknown): MailboxError {
  try {
    run();
  } catch (err) {
    return err as MailboxError;
  }
  throw new Error('expected a failure');
}

describe('IMAP', () => {
  it.each([
    ['IMAP4rev1 AUTH=PLAIN AUTH=LOGIN', 'AUTHENTICATE PLAIN'],
    ['IMAP4rev1 auth=plain', 'AUTHENTICATE PLAIN'],
    ['IMAP4rev1 AUTH=LOGIN LOGINDISABLED', 'AUTHENTICATE LOGIN'],
    ['IMAP4rev1 AUTH=LOGIN', 'AUTHENTICATE LOGIN'],
    ['IMAP4rev1', 'LOGIN'],
    ['IMAP4rev1 AUTH=CRAM-MD5', 'LOGIN'],
  ])('%s -> %s', (caps, mechanism) => {
    expect(chooseImapMechanism(password, caps.split(' '))).toBe(mechanism);
  });

  it('a DOMAIN\\user name takes the LOGIN command, unless the server disables it', () => {
    expect(chooseImapMechanism({ ...password, user: 'dom\\ann' }, ['AUTH=PLAIN'])).toBe('LOGIN');
    expect(chooseImapMechanism({ ...password, user: 'ann/shared' }, ['AUTH=PLAIN', 'LOGINDISABLED'])).toBe('AUTHENTICATE PLAIN');
  });

  it('LOGINDISABLED with no SASL mechanism: 77, the fix is TLS', () => {
    const err = failure(() => chooseImapMechanism(password, ['IMAP4rev1', 'LOGINDISABLED', 'STARTTLS']));
    expect(err.code).toBe('EAUTH');
    expect(hintText(err)).toBe('the server wants TLS first: mailbox edit w --security tls, or mailbox edit w --security starttls');
  });

  it('the account insisting on a mechanism: that one when offered (LOGIN command unless LOGINDISABLED), else 77 with the fix', () => {
    expect(chooseImapMechanism({ ...password, authMechanism: 'command' }, ['AUTH=PLAIN'])).toBe('LOGIN');
    expect(chooseImapMechanism({ ...password, authMechanism: 'login' }, ['AUTH=PLAIN', 'AUTH=LOGIN'])).toBe('AUTHENTICATE LOGIN');
    expect(chooseImapMechanism({ ...oauth, authMechanism: 'xoauth2' }, ['AUTH=XOAUTH2', 'AUTH=OAUTHBEARER'])).toBe('XOAUTH2');
    const err = failure(() => chooseImapMechanism({ ...password, authMechanism: 'command' }, ['AUTH=PLAIN', 'LOGINDISABLED']));
    expect(err.message).toBe('account w: the server does not offer LOGIN, the mechanism the account insists on (offers: PLAIN, LOGINDISABLED)');
    expect(hintText(err)).toBe('let mailbox choose among what the server offers: mailbox edit w --no-auth-mechanism');
  });

  it('OAuth 2.0: OAUTHBEARER before XOAUTH2 (imapflow\'s order); neither is 77', () => {
    expect(chooseImapMechanism(oauth, ['AUTH=XOAUTH2', 'AUTH=OAUTHBEARER'])).toBe('OAUTHBEARER');
    expect(chooseImapMechanism(oauth, ['AUTH=XOAUTH2', 'AUTH=PLAIN'])).toBe('XOAUTH2');
    expect(failure(() => chooseImapMechanism(oauth, ['AUTH=PLAIN'])).code).toBe('EAUTH');
  });

  it("imapflow's auth.loginMethod is our choice for the capabilities imapflow has when it asks", () => {
    let caps = ['IMAP4rev1'];
    const auth = imapflowAuth(password, 's3cret', () => caps);
    caps = ['IMAP4rev1', 'AUTH=LOGIN', 'LOGINDISABLED']; // learnt after STARTTLS
    expect(auth.loginMethod).toBe(IMAPFLOW_LOGIN_METHOD['AUTHENTICATE LOGIN']);
    expect(auth.chosen).toBe('AUTHENTICATE LOGIN');
    expect(auth).toMatchObject({ user: 'ann', pass: 's3cret' });
    expect(imapflowAuth(oauth, 'tok', () => [])).toMatchObject({ accessToken: 'tok' });
  });
});

describe('POP3', () => {
  const capa = (lines: string[]) => new Map(lines.map((l) => [l.split(' ')[0]!, l.split(' ').slice(1)]));
  it.each([
    [['USER', 'SASL PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256'], 'SCRAM-SHA-256'],
    [['USER', 'SASL PLAIN LOGIN CRAM-MD5'], 'CRAM-MD5'],
    [['USER', 'SASL PLAIN LOGIN'], 'PLAIN'],
    [['USER', 'SASL LOGIN'], 'LOGIN'],
    [['SASL LOGIN'], 'LOGIN'],
    [['USER', 'SASL SCRAM-SHA-1'], 'USER'],
    [['USER'], 'USER'],
    [[], 'USER'],
  ])('%j -> %s', (lines, mechanism) => {
    expect(choosePop3Mechanism(password, capa(lines))).toBe(mechanism);
  });
  it('no CAPA at all (an RFC 1939 server): USER/PASS, or what the account insists on; OAuth 2.0: OAUTHBEARER where listed, else XOAUTH2', () => {
    expect(choosePop3Mechanism(password, null)).toBe('USER');
    expect(choosePop3Mechanism({ ...password, authMechanism: 'plain' }, null)).toBe('PLAIN');
    expect(choosePop3Mechanism(oauth, capa(['SASL PLAIN']))).toBe('XOAUTH2');
    expect(choosePop3Mechanism(oauth, capa(['SASL PLAIN XOAUTH2 OAUTHBEARER']))).toBe('OAUTHBEARER');
    expect(choosePop3Mechanism({ ...oauth, authMechanism: 'xoauth2' }, capa(['SASL PLAIN XOAUTH2 OAUTHBEARER']))).toBe('XOAUTH2');
    expect(failure(() => choosePop3Mechanism({ ...oauth, authMechanism: 'oauthbearer' }, capa(['USER', 'SASL PLAIN']))).code).toBe('EAUTH');
  });
  it('the account insisting on a mechanism: that one when offered, else 77 with the fix to let mailbox choose', () => {
    const caps = capa(['USER', 'SASL PLAIN LOGIN SCRAM-SHA-256']);
    expect(choosePop3Mechanism({ ...password, authMechanism: 'plain' }, caps)).toBe('PLAIN');
    expect(choosePop3Mechanism({ ...password, authMechanism: 'command' }, caps)).toBe('USER');
    const err = failure(() => choosePop3Mechanism({ ...password, authMechanism: 'cram-md5' }, caps));
    expect(err).toMatchObject({ code: 'EAUTH', message: 'account w: the server does not offer AUTH CRAM-MD5, the mechanism the account insists on (offers: USER/PASS, SASL PLAIN LOGIN SCRAM-SHA-256)' });
    expect(hintText(err)).toBe('let mailbox choose among what the server offers: mailbox edit w --no-auth-mechanism');
    expect(failure(() => choosePop3Mechanism({ ...password, authMechanism: 'command' }, capa(['SASL PLAIN']))).code).toBe('EAUTH');
  });
});

describe('SMTP', () => {
  it.each([
    [['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256'], 'SCRAM-SHA-256'],
    [['PLAIN', 'LOGIN', 'CRAM-MD5'], 'CRAM-MD5'],
    [['PLAIN', 'LOGIN'], 'PLAIN'],
    [['login'], 'LOGIN'],
    [['LOGIN', 'XOAUTH2'], 'LOGIN'],
  ])('%j -> %s', (offered, mechanism) => {
    expect(chooseSmtpMechanism(password, offered)).toBe(mechanism);
  });
  it('the account insisting on a mechanism: that one, or 77 with the fix', () => {
    expect(chooseSmtpMechanism({ ...password, authMechanism: 'login' }, ['PLAIN', 'LOGIN', 'CRAM-MD5'])).toBe('LOGIN');
    const err = failure(() => chooseSmtpMechanism({ ...password, authMechanism: 'scram-sha-256' }, ['PLAIN', 'LOGIN']));
    expect(err.message).toBe('account w: the server does not offer AUTH SCRAM-SHA-256, the mechanism the account insists on (offers: PLAIN LOGIN)');
    expect(hintText(err)).toBe('let mailbox choose among what the server offers: mailbox edit w --no-auth-mechanism');
  });
  it('OAuth 2.0: OAUTHBEARER where offered, else XOAUTH2; nothing offered on a plain connection points at TLS', () => {
    expect(chooseSmtpMechanism(oauth, ['PLAIN', 'XOAUTH2'])).toBe('XOAUTH2');
    expect(chooseSmtpMechanism(oauth, ['XOAUTH2', 'OAUTHBEARER', 'PLAIN'])).toBe('OAUTHBEARER');
    expect(failure(() => chooseSmtpMechanism(oauth, ['PLAIN'])).message).toContain('does not offer AUTH OAUTHBEARER or XOAUTH2');
    const plain = failure(() => chooseSmtpMechanism({ ...password, security: 'none' }, []));
    expect(plain.code).toBe('EAUTH');
    expect(hintText(plain)).toBe('servers often offer AUTH only after TLS: mailbox edit w --security starttls, or mailbox edit w --security tls');
  });
});

describe('SMTP OAUTHBEARER exchange (RFC 7628)', () => {
  it('sends the GS2 payload with the host and port, and answers the error challenge with %x01 before the refusal', async () => {
    const { smtpLogin } = await import('../../src/protocols/smtp/login.js');
    const { Peer } = await import('../../src/protocols/net/peer.js');
    const { parseAccount } = await import('../../src/core/account.js');
    const account = parseAccount({ name: 's', type: 'smtp', host: 'smtp.example.com', port: 587, security: 'starttls', auth: 'oauth2', user: 'me@example.com', secret: { kind: 'env', name: 'T' } });
    const sent: string[] = [];
    const replies = [
      { code: 334, text: `334 ${Buffer.from('{"status":"invalid_token","schemes":"bearer"}').toString('base64')}` },
      { code: 535, text: '535 5.7.8 Authentication credentials invalid' },
    ];
    const err = (await smtpLogin(new Peer(account), account, ['XOAUTH2', 'OAUTHBEARER'], 'tok-123', async (line) => (sent.push(line), replies.shift()!)).catch((e: unknown) => e)) as MailboxError;
    const payload = Buffer.from(sent[0]!.replace('AUTH OAUTHBEARER ', ''), 'base64').toString();
    expect(payload).toBe('n,a=me@example.com,\x01host=smtp.example.com\x01port=587\x01auth=Bearer tok-123\x01\x01');
    expect(sent[1]).toBe('AQ==');
    expect(err.code).toBe('EAUTH');
    expect(err.message).not.toContain('tok-123');
  });
});
