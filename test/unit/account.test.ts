import { describe, expect, it } from 'vitest';
import {
  accountWarnings,
  defaultPort,
  keychainRef,
  parseAccount,
  parseEnvName,
  parseName,
  parseSecretRef,
  parseUser,
  type AccountInput,
} from '../../src/core/account.js';
import { MailboxError } from '../../src/core/errors.js';

const env = { kind: 'env', name: 'PW' };
const imap: AccountInput = { name: 'work', type: 'imap', host: 'imap.example.com', user: 'me@example.com', secret: env };

function fails(input: AccountInput): MailboxError {
  try {
    parseAccount(input);
  } catch (err) {
    expect(err).toBeInstanceOf(MailboxError);
    expect((err as MailboxError).exitCode).toBe(65);
    return err as MailboxError;
  }
  throw new Error('expected parseAccount to throw');
}

describe('default ports follow type and security', () => {
  it.each([
    ['smtp', 'tls', 465],
    ['smtp', 'starttls', 587],
    ['smtp', 'none', 25],
    ['imap', 'tls', 993],
    ['imap', 'starttls', 143],
    ['imap', 'none', 143],
    ['pop3', 'tls', 995],
    ['pop3', 'starttls', 110],
    ['pop3', 'none', 110],
  ] as const)('%s + %s -> %d', (type, security, port) => {
    expect(defaultPort(type, security)).toBe(port);
    expect(parseAccount({ ...imap, type, security }).port).toBe(port);
  });
  it('keeps an explicit port', () => {
    expect(parseAccount({ ...imap, port: '1993' }).port).toBe(1993);
  });
});

describe('parseAccount defaults', () => {
  it('fills an IMAP account', () => {
    expect(parseAccount(imap)).toEqual({
      name: 'work',
      type: 'imap',
      host: 'imap.example.com',
      port: 993,
      security: 'tls',
      auth: 'password',
      user: 'me@example.com',
      secret: env,
      active: true,
      debug: false,
      folder: 'INBOX',
      deleteAfterDownload: false,
      tls: {},
    });
  });
  it('lower-cases host, type and security', () => {
    const a = parseAccount({ ...imap, host: 'IMAP.Example.COM', type: 'IMAP', security: 'StartTLS' });
    expect([a.host, a.type, a.security]).toEqual(['imap.example.com', 'imap', 'starttls']);
  });
  it('SMTP From defaults to the user when it is an address, else stays empty', () => {
    expect(parseAccount({ ...imap, type: 'smtp' }).from).toBe('me@example.com');
    expect(parseAccount({ ...imap, type: 'smtp', user: 'me' }).from).toBeUndefined();
    expect(parseAccount({ ...imap, type: 'smtp', from: 'ops@example.com' }).from).toBe('ops@example.com');
  });
  it('SMTP without user defaults to auth none and needs no secret', () => {
    const a = parseAccount({ name: 'relay', type: 'smtp', host: 'relay.example.com' });
    expect(a.auth).toBe('none');
    expect(a.user).toBeUndefined();
    expect(a.secret).toBeUndefined();
  });
  it('keeps oauth2 as chosen', () => {
    expect(parseAccount({ ...imap, auth: 'oauth2' }).auth).toBe('oauth2');
  });
  it('stores incoming options', () => {
    const a = parseAccount({ ...imap, type: 'pop3', deleteAfterDownload: true, maxMessageSize: '10MB' });
    expect(a.deleteAfterDownload).toBe(true);
    expect(a.maxMessageSize).toBe(10 * 1024 * 1024);
    expect(a.folder).toBeUndefined();
  });
  it('parsing its own output changes nothing (export -> apply round trip)', () => {
    for (const input of [imap, { ...imap, type: 'smtp' }, { name: 'r', type: 'smtp', host: 'r.example.com' }, { ...imap, type: 'pop3', tls: { insecure: true } }]) {
      const once = parseAccount(input as AccountInput);
      expect(parseAccount(JSON.parse(JSON.stringify(once)) as AccountInput)).toEqual(once);
    }
  });
});

describe('parseAccount rejects bad values naming the field', () => {
  it.each([
    [{ name: 'bad name!' }, 'name'],
    [{ name: '' }, 'name'],
    [{ type: 'exchange' }, 'type'],
    [{ host: '' }, 'host'],
    [{ host: 'bad_host' }, 'host'],
    [{ port: '0' }, 'port'],
    [{ port: '70000' }, 'port'],
    [{ security: 'ssl3' }, 'security'],
    [{ auth: 'kerberos' }, 'auth'],
    [{ auth: 'none' }, 'auth'],
    [{ user: undefined }, 'user'],
    [{ user: 'bad\u0007user' }, 'user'],
    [{ secret: undefined }, 'password'],
    [{ secret: { kind: 'env', name: '1BAD' } }, 'password.name'],
    [{ secret: { kind: 'file', path: '/x' } }, 'password.kind'],
    [{ from: 'ops@example.com' }, 'from'],
    [{ folder: '' , type: 'pop3', maxMessageSize: 'huge' }, 'maxMessageSize'],
    [{ type: 'pop3', folder: 'INBOX' }, 'folder'],
    [{ type: 'smtp', deleteAfterDownload: true }, 'deleteAfterDownload'],
    [{ type: 'smtp', from: 'not-an-address' }, 'from'],
    [{ active: 'perhaps' }, 'active'],
    [{ filter: 'bad filter' }, 'filter'],
    [{ tls: { fingerprint: 'abc' } }, 'fingerprint'],
    [{ tls: { insecure: true, ca: '/ca.pem' } }, 'insecure'],
  ] as [AccountInput, string][])('%j -> %s', (change, field) => {
    const err = fails({ ...imap, ...change });
    expect(err.field).toBe(field);
  });
  it('messages name the value and what is accepted', () => {
    expect(fails({ ...imap, security: 'ssl3' }).message).toBe('invalid security "ssl3": expected one of tls, starttls, none');
    expect(fails({ ...imap, auth: 'none' }).message).toContain('password or oauth2');
  });
});

describe('small parsers', () => {
  it('names', () => {
    expect(parseName(' Work.Mail@2 ')).toBe('Work.Mail@2');
    expect(() => parseName('-x')).toThrow(/invalid name/);
    expect(() => parseName('a'.repeat(65))).toThrow(/1-64 characters/);
  });
  it('users and env names', () => {
    expect(parseUser('carol@example.test')).toBe('carol@example.test');
    expect(() => parseUser('  ')).toThrow(/invalid user/);
    expect(parseEnvName('MAIL_PW')).toBe('MAIL_PW');
    expect(() => parseEnvName('MAIL-PW')).toThrow(/invalid password-env "MAIL-PW"/);
  });
  it('secret references', () => {
    expect(parseSecretRef({ kind: 'keychain', key: 'work' })).toEqual({ kind: 'keychain', service: 'mailbox', key: 'work' });
    expect(parseSecretRef({ kind: 'command', command: 'pass show x' })).toEqual({ kind: 'command', command: 'pass show x' });
    expect(() => parseSecretRef({ kind: 'command', command: ' ' })).toThrow(/command/);
    expect(() => parseSecretRef('hunter2')).toThrow(/an object with kind/);
  });
  it('keychain entries are keyed by the lower-cased account name', () => {
    expect(keychainRef('Work')).toEqual({ kind: 'keychain', service: 'mailbox', key: 'work' });
  });
});

describe('warnings', () => {
  it('warn for starttls, none and insecure, not for tls', () => {
    expect(accountWarnings(parseAccount(imap))).toEqual([]);
    expect(accountWarnings(parseAccount({ ...imap, security: 'starttls' }))[0]).toMatch(/may expose data.*tls \(SSL\/TLS\) is the safer choice/);
    expect(accountWarnings(parseAccount({ ...imap, security: 'none' }))[0]).toMatch(/without encryption.*passwords/);
    expect(accountWarnings(parseAccount({ ...imap, tls: { insecure: true } }))[0]).toMatch(/--insecure turns off certificate verification/);
  });
});
