import { describe, expect, it } from 'vitest';
import { parseAccount } from '../../src/core/account.js';
import { checkFlagValues, effectiveAuth, inputFromFlags, missingFlags, parseStdinSecret, secretFromFlags } from '../../src/cli/account-flags.js';

const base = parseAccount({ name: 'out', type: 'smtp', host: 'smtp.example.com', user: 'me@example.com', secret: { kind: 'env', name: 'PW' } });

describe('flags over an edited account', () => {
  it('a port that was the default follows a new security', () => {
    expect(parseAccount(inputFromFlags({ security: 'starttls' }, base)).port).toBe(587);
    const custom = { ...base, port: 2465 };
    expect(parseAccount(inputFromFlags({ security: 'starttls' }, custom)).port).toBe(2465);
    expect(parseAccount(inputFromFlags({ security: 'starttls', port: '25' }, base)).port).toBe(25);
  });
  it('a From that was the user follows a new user; an explicit one stays', () => {
    expect(parseAccount(inputFromFlags({ user: 'new@example.com' }, base)).from).toBe('new@example.com');
    const explicit = { ...base, from: 'ops@example.com' };
    expect(parseAccount(inputFromFlags({ user: 'new@example.com' }, explicit)).from).toBe('ops@example.com');
  });
  it('--no-X flags clear, trust flags merge', () => {
    const withAll = { ...base, filter: 'f', tls: { fingerprint: 'AB' } };
    const input = inputFromFlags({ filter: false, fingerprint: false, insecure: true, debug: true }, withAll);
    expect(input.filter).toBeUndefined();
    expect(input.tls).toEqual({ fingerprint: undefined, insecure: true });
    expect(input.debug).toBe(true);
    expect(inputFromFlags({ inactive: true }, base).active).toBe(false);
    expect(inputFromFlags({ keepOnServer: true }, { ...base, type: 'pop3', deleteAfterDownload: true }).deleteAfterDownload).toBe(false);
  });
});

describe('what a script must give', () => {
  it('names every missing flag', () => {
    expect(missingFlags({}, undefined)).toEqual(['--type', '--name', '--host']);
    expect(missingFlags({ type: 'imap', name: 'x', host: 'h' }, undefined)).toEqual([
      '--user',
      'a secret source (--password-stdin, --password-env VAR or --password-command CMD)',
    ]);
    expect(missingFlags({ type: 'smtp', name: 'x', host: 'h' }, undefined)).toEqual([]);
    expect(missingFlags({ type: 'smtp', name: 'x', host: 'h' }, { kind: 'env', name: 'P' })).toEqual(['--user']);
    expect(missingFlags({ type: 'pop3', name: 'x', host: 'h', user: 'u' }, { kind: 'env', name: 'P' })).toEqual([]);
  });
  it('auth defaults to none only for an SMTP account without user or secret', () => {
    expect(effectiveAuth({ type: 'smtp' }, undefined)).toBe('none');
    expect(effectiveAuth({ type: 'smtp', user: 'u' }, undefined)).toBe('password');
    expect(effectiveAuth({ type: 'imap' }, undefined)).toBe('password');
    expect(effectiveAuth({ type: 'imap', auth: 'OAuth2' }, undefined)).toBe('oauth2');
  });
});

describe('flag values are checked before anything else', () => {
  it('usage errors (64) for contradictions, value errors (65) name the flag', () => {
    expect(() => checkFlagValues({ passwordEnv: 'A', passwordCommand: 'b' })).toThrow(expect.objectContaining({ exitCode: 64 }));
    expect(() => checkFlagValues({ deleteAfterDownload: true, keepOnServer: true })).toThrow(expect.objectContaining({ exitCode: 64 }));
    expect(() => checkFlagValues({ port: '0' })).toThrow(expect.objectContaining({ exitCode: 65, field: 'port' }));
    expect(() => checkFlagValues({ maxSize: 'lots' })).toThrow(/invalid max-size "lots"/);
    expect(() => checkFlagValues({ passwordEnv: 'not valid' })).toThrow(/invalid password-env/);
    expect(() => checkFlagValues({ type: 'imap', host: 'h.example.com', port: '993', fingerprint: 'ab'.repeat(32) })).not.toThrow();
  });
  it('reads the stdin password without its trailing newline, refuses an empty one', () => {
    expect(parseStdinSecret('p@ss w0rd"é\n')).toBe('p@ss w0rd"é');
    expect(parseStdinSecret('two\nlines\r\n')).toBe('two\nlines');
    expect(() => parseStdinSecret('\n')).toThrow(expect.objectContaining({ exitCode: 65, field: 'password' }));
    expect(secretFromFlags({ passwordStdin: true }, 'pw\n')).toEqual({ kind: 'keychain', secret: 'pw' });
    expect(secretFromFlags({ passwordEnv: 'PW' }, undefined)).toEqual({ kind: 'env', name: 'PW' });
  });
});
