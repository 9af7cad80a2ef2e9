// Values at their edges (issues 9 and 10): every number range-checked, durations inside what a timer
// can wait, no control character in any name-like field, long bad values cut in messages, From with a
// display name, an SMTP account that has nothing to send from, `ssl` for `tls`.
import { describe, expect, it } from 'vitest';
import { fromAddress, parseAccount, parseAddress, parseFromFor, senderAddress, type AccountInput } from '../../src/core/account.js';
import { parseConfig } from '../../src/core/config.js';
import { MailboxError, shown } from '../../src/core/errors.js';
import { parseFilter } from '../../src/core/filter.js';
import { formatMailbox, parseCount, parseDuration, parseMailbox, parsePort, parseSize, TIMEOUT_RANGE } from '../../src/core/validate.js';

function errorOf(fn: () => unknown): MailboxError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MailboxError);
    return err as MailboxError;
  }
  throw new Error('expected a throw');
}

const env = { kind: 'env', name: 'PW' };
const imap: AccountInput = { name: 'work', type: 'imap', host: 'imap.example.com', user: 'me@example.com', secret: env };
const smtp: AccountInput = { name: 'out', type: 'smtp', host: 'smtp.example.com', user: 'me@example.com', secret: env };

describe('numbers are range-checked, and what is accepted is what JSON writes back as digits', () => {
  it('sizes: 1 byte to 4GB; 1e23 (as typed or as JSON wrote it) and beyond are refused naming the range', () => {
    expect(parseSize('4GB', 'max-size')).toBe(4 * 1024 ** 3);
    expect(parseSize(4 * 1024 ** 3, 'max-size')).toBe(4 * 1024 ** 3);
    expect(parseSize('1', 'max-size')).toBe(1);
    for (const bad of ['99999999999999999999999', 1e23, '4294967297', '4.1GB', '0.1', 'Infinity', true, {}]) {
      const err = errorOf(() => parseSize(bad, 'max-size'));
      expect(err.exitCode).toBe(65);
      expect(err.message).toContain('from 1 byte to 4GB');
    }
  });
  it('every accepted size survives a JSON round trip through the config reader', () => {
    for (const size of ['1', '4GB', '3.999999GB', '123456789']) {
      const account = parseAccount({ ...imap, maxMessageSize: size });
      const back = parseConfig(JSON.parse(JSON.stringify({ accounts: [account] })), 'config.json');
      expect(back.accounts[0]).toEqual(account);
    }
  });
  it('ports: 1 to 65535, never a long digit string or a non-integer number', () => {
    for (const bad of ['999999999999999999999999', 1e21, 65536, 0, 1.5, '1e3', true]) expect(errorOf(() => parsePort(bad)).message).toContain('1 to 65535');
  });
  it('counts: whole numbers in range', () => {
    expect(parseCount('20', 'limit')).toBe(20);
    for (const bad of ['0', '1e3', '0x10', '99999999999', '-1', '2.5']) expect(errorOf(() => parseCount(bad, 'limit')).field).toBe('limit');
  });
});

describe('durations never overflow a timer', () => {
  it('597h, 2147484 (s) and 30 days are refused, the accepted range in the message (65)', () => {
    for (const bad of ['597h', '2147484', '720h', '25h']) {
      const err = errorOf(() => parseDuration(bad, 'read-interval'));
      expect(err.exitCode).toBe(65);
      expect(err.message).toMatch(/expected a duration from 1s to 24h/);
    }
    expect(errorOf(() => parseDuration('2147484', 'timeout', TIMEOUT_RANGE)).message).toMatch(/from 1s to 10m/);
  });
  it('sub-second and zero durations are refused; bare numbers are seconds; the bounds are accepted', () => {
    expect(() => parseDuration('0', 'x')).toThrow(/from 1s/);
    expect(() => parseDuration('500ms', 'x')).toThrow(/from 1s/);
    expect(parseDuration('1', 'x')).toBe(1000);
    expect(parseDuration('24h', 'x')).toBe(86_400_000);
    expect(parseDuration('10m', 'timeout', TIMEOUT_RANGE)).toBe(600_000);
    expect(parseDuration('1.5s', 'x')).toBe(1500);
  });
});

// Every form a line of output can be broken or forged with.
const CONTROLS = ['\r', '\n', '\t', '\x1b[31m', '\x00', '\x7f', '\u0085', '\u009b', '\u2028', '\u2029', '\u202e', '\u2066'];

describe('no control characters in any name-like field (65)', () => {
  const cases: [string, (c: string) => AccountInput, string][] = [
    ['name', (c) => ({ ...imap, name: `wo${c}rk` }), 'name'],
    ['host', (c) => ({ ...imap, host: `imap${c}.example.com` }), 'host'],
    ['user', (c) => ({ ...imap, user: `me${c}x` }), 'user'],
    ['folder', (c) => ({ ...imap, folder: `IN${c}BOX` }), 'folder'],
    ['from', (c) => ({ ...smtp, from: `ops${c}@example.com` }), 'from'],
    ['from name', (c) => ({ ...smtp, from: `Ops${c}Team <ops@example.com>` }), 'from'],
    ['filter', (c) => ({ ...imap, filter: `f${c}x` }), 'filter'],
    ['env name', (c) => ({ ...imap, secret: { kind: 'env', name: `PW${c}X` } }), 'password.name'],
    ['command', (c) => ({ ...imap, secret: { kind: 'command', command: `pass show${c}x` } }), 'password.command'],
    ['keychain key', (c) => ({ ...imap, secret: { kind: 'keychain', key: `wo${c}rk` } }), 'password.key'],
    ['ca file', (c) => ({ ...imap, tls: { ca: `/etc/ca${c}.pem` } }), 'ca'],
  ];
  it.each(cases)('%s', (_what, input, field) => {
    for (const c of CONTROLS) {
      const err = errorOf(() => parseAccount(input(c)));
      expect(err.code).toBe('EVALUE');
      expect(err.field).toBe(field);
      // The message itself stays on one line and shows the character escaped.
      expect(err.message).not.toMatch(/[\r\n\u0085\u2028\u2029\u001b]/);
    }
  });
  it('filter names and patterns', () => {
    for (const c of CONTROLS) {
      expect(errorOf(() => parseFilter({ name: `f${c}x`, direction: 'inbound' })).code).toBe('EVALUE');
      expect(errorOf(() => parseFilter({ name: 'f', direction: 'inbound', deny: [`spam${c}.test`] })).code).toBe('EVALUE');
      expect(errorOf(() => parseFilter({ name: 'f', direction: 'inbound', deny: [`x${c}@spam.test`] })).code).toBe('EVALUE');
    }
  });
  it('a config.json edited by hand to hold one is reported with its field (78), not read', () => {
    const err = errorOf(() => parseConfig({ accounts: [{ ...imap, folder: 'IN\r\nBOX' }] }, 'config.json'));
    expect(err.exitCode).toBe(78);
    expect(err.field).toBe('folder');
    expect(err.message).toContain('"IN\\r\\nBOX"');
  });
});

describe('huge invalid values are cut in messages, saying so', () => {
  it('a 100,000-character value is shown by its first 80 characters and its length', () => {
    const huge = 'a'.repeat(100_000);
    for (const fn of [() => parseAccount({ ...imap, name: huge }), () => parsePort(huge), () => parseAccount({ ...imap, folder: `${huge}\n` }), () => parseSize(huge, 'max-size')]) {
      const err = errorOf(fn);
      expect(err.message.length).toBeLessThan(400);
      expect(err.message).toContain('(cut: 100');
    }
  });
  it('cuts by characters, never inside one, and escapes what it shows', () => {
    const text = shown('😀'.repeat(100));
    expect(text).toBe(`"${'😀'.repeat(80)}"... (cut: 100 characters)`);
    expect(shown('a\u2028b')).toBe('"a\\u2028b"');
    expect(shown({ a: 1 })).toBe('{"a":1}');
  });
});

describe('From with a display name (RFC 5322 name-addr)', () => {
  it.each([
    ['alice@example.com', undefined, 'alice@example.com', 'alice@example.com'],
    ['Alice <alice@example.com>', 'Alice', 'alice@example.com', 'Alice <alice@example.com>'],
    ['  Alice   Smith  <alice@example.com> ', 'Alice Smith', 'alice@example.com', 'Alice Smith <alice@example.com>'],
    ['"Smith, Alice" <alice@example.com>', 'Smith, Alice', 'alice@example.com', '"Smith, Alice" <alice@example.com>'],
    ['"Al \\"the boss\\" ice" <a@example.com>', 'Al "the boss" ice', 'a@example.com', '"Al \\"the boss\\" ice" <a@example.com>'],
    ['Jöns Ålund <jons@exämple.se>', 'Jöns Ålund', 'jons@exämple.se', 'Jöns Ålund <jons@exämple.se>'],
    ['John Q. Public <jqp@example.com>', 'John Q. Public', 'jqp@example.com', 'John Q. Public <jqp@example.com>'],
    ['<alice@example.com>', undefined, 'alice@example.com', 'alice@example.com'],
    ['"a<b" <ab@example.com>', 'a<b', 'ab@example.com', '"a<b" <ab@example.com>'],
  ])('%s', (text, name, address, formatted) => {
    const mailbox = parseMailbox(text)!;
    expect(mailbox).toEqual(name === undefined ? { address } : { name, address });
    expect(formatMailbox(mailbox)).toBe(formatted);
    expect(parseMailbox(formatted)).toEqual(mailbox);
    expect(parseAddress(text)).toBe(formatted);
    expect(fromAddress(formatted)).toBe(address);
  });
  it.each(['Alice', 'Alice <alice>', 'Alice <alice@example.com', 'Alice <alice@example.com> x', 'Smith, Alice <a@example.com>', '"unclosed <a@example.com>', 'a@b.com, c@d.com', 'Al@ice <a@example.com>'])(
    'refuses %j naming the forms accepted',
    (text) => {
      const err = errorOf(() => parseAddress(text));
      expect(err.field).toBe('from');
      expect(err.message).toContain('Ops Team <ops@example.com>');
    },
  );
  it('an SMTP account keeps the name in its From; the envelope sender is the address', () => {
    const account = parseAccount({ ...smtp, from: 'Ops Team <ops@example.com>' });
    expect(account.from).toBe('Ops Team <ops@example.com>');
    expect(senderAddress(account)).toBe('ops@example.com');
    expect(senderAddress(parseAccount(smtp))).toBe('me@example.com');
    expect(senderAddress(parseAccount({ name: 'relay', type: 'smtp', host: 'relay.example.com' }))).toBeUndefined();
  });
});

describe('an SMTP account has something to send from', () => {
  it('a user that is not an address needs a From: 65 naming the field, a fix for the CLI to word', () => {
    const err = errorOf(() => parseAccount({ ...smtp, user: 'alice' }));
    expect(err).toMatchObject({ code: 'EVALUE', field: 'from', fixes: [{ field: 'from', value: 'ADDRESS' }] });
    expect(parseAccount({ ...smtp, user: 'alice', from: 'alice@example.com' }).from).toBe('alice@example.com');
    // A relay without login sends each message with its own From.
    expect(parseAccount({ name: 'relay', type: 'smtp', host: 'relay.example.com' }).from).toBeUndefined();
  });
  it("the wizard's From question: empty follows a user that is an address, else it asks again", () => {
    expect(parseFromFor('', 'me@example.com')).toBeUndefined();
    expect(parseFromFor('', undefined)).toBeUndefined();
    expect(() => parseFromFor('  ', 'alice')).toThrow(/the user "alice" is not an address to send from/);
    expect(parseFromFor('Alice <alice@example.com>', 'alice')).toBe('Alice <alice@example.com>');
  });
});

describe('security words', () => {
  it('ssl is tls, in any case, from flags and files alike', () => {
    expect(parseAccount({ ...imap, security: 'SSL' }).security).toBe('tls');
    expect(parseAccount({ ...imap, security: 'ssl' }).port).toBe(993);
    expect(errorOf(() => parseAccount({ ...imap, security: 'tls1.3' })).message).toContain('one of tls, starttls, none (or ssl for tls)');
  });
});
