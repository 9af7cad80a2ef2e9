import { describe, expect, it } from 'vitest';
import { MailboxError } from '../../src/core/errors.js';
import { isAddress, isHost, parseBoolean, parseFilterName, parseFingerprint, parsePort, parseSize } from '../../src/core/validate.js';

function errorOf(fn: () => unknown): MailboxError {
  try {
    fn();
  } catch (err) {
    return err as MailboxError;
  }
  throw new Error('expected a throw');
}

describe('hosts', () => {
  it.each(['mail.example.com', 'localhost', '127.0.0.1', '::1', '2001:db8::25', 'mx-1.example.co.uk', 'example.com.'])('accepts %s', (h) => {
    expect(isHost(h)).toBe(true);
  });
  it.each(['', 'bad_host', '-lead.example.com', 'trail-.example.com', '256.1.1.1', '1.2.3', 'a..b', 'has space.com', `${'a'.repeat(64)}.com`])(
    'rejects %j',
    (h) => {
      expect(isHost(h)).toBe(false);
    },
  );
});

describe('addresses', () => {
  it.each(['a@example.com', 'first.last+tag@sub.example.com', '"quoted name"@example.com', 'x@[127.0.0.1]', 'josé@exämple.com'])('accepts %s', (a) => {
    expect(isAddress(a)).toBe(true);
  });
  it.each(['', 'plain', '@example.com', 'a@', 'a@@b.com', 'a@127.0.0.1', '.a@b.com', 'a..b@c.com', `${'a'.repeat(65)}@b.com`])('rejects %j', (a) => {
    expect(isAddress(a)).toBe(false);
  });
});

describe('ports', () => {
  it('accepts 1 and 65535 and trims', () => {
    expect(parsePort('1')).toBe(1);
    expect(parsePort(' 65535 ')).toBe(65535);
    expect(parsePort(993)).toBe(993);
  });
  it.each(['0', '65536', '-1', '12.5', 'abc', '', '0x10'])('rejects %j naming field, value and range', (p) => {
    const err = errorOf(() => parsePort(p));
    expect(err.code).toBe('EVALUE');
    expect(err.exitCode).toBe(65);
    expect(err.field).toBe('port');
    expect(err.message).toContain(JSON.stringify(p));
    expect(err.message).toContain('1 to 65535');
  });
});

describe('sizes, booleans, fingerprints, filter names', () => {
  it('parses sizes with units', () => {
    expect(parseSize('512k', 's')).toBe(512 * 1024);
    expect(parseSize('10MB', 's')).toBe(10 * 1024 ** 2);
    expect(parseSize('1048576', 's')).toBe(1048576);
    expect(parseSize('1.5g', 's')).toBe(1.5 * 1024 ** 3);
    expect(() => parseSize('10 parsecs', 'max-size')).toThrow(/invalid max-size "10 parsecs"/);
    expect(() => parseSize('0', 'max-size')).toThrow(/from 1 byte to 4GB/);
  });
  it('parses booleans and names the field on error', () => {
    expect(parseBoolean('yes', 'debug')).toBe(true);
    expect(parseBoolean('off', 'debug')).toBe(false);
    expect(parseBoolean(false, 'debug')).toBe(false);
    expect(errorOf(() => parseBoolean('maybe', 'debug')).message).toBe('invalid debug "maybe": expected true or false');
  });
  it('normalises SHA-256 fingerprints to colon hex', () => {
    const hex = 'ab'.repeat(32);
    const want = Array(32).fill('AB').join(':');
    expect(parseFingerprint(hex)).toBe(want);
    expect(parseFingerprint(`sha256:${want.toLowerCase()}`)).toBe(want);
    expect(() => parseFingerprint('ab:cd')).toThrow(/64 hex digits/);
  });
  it('checks filter names', () => {
    expect(parseFilterName('no-spam.v2')).toBe('no-spam.v2');
    expect(() => parseFilterName('has space')).toThrow(/invalid filter name "has space"/);
    expect(() => parseFilterName('')).toThrow(/invalid filter name/);
  });
});
