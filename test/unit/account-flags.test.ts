import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseAccount } from '../../src/core/account.js';
import {
  ACCOUNT_FLAGS,
  checkFlagValues,
  declareAccountFlags,
  effectiveAuth,
  hasAccountFlags,
  missingFlags,
  parseAccountFlags,
  parseStdinSecret,
  type AccountFlagValues,
} from '../../src/cli/account-flags.js';

const base = parseAccount({ name: 'out', type: 'smtp', host: 'smtp.example.com', user: 'me@example.com', secret: { kind: 'env', name: 'PW' } });
const inputFrom = (flags: AccountFlagValues, over = base) => parseAccountFlags(flags, over).input;

/** The flags as commander parses them from a command line. */
function commandLine(mode: 'add' | 'edit', args: string[]): AccountFlagValues {
  const command = declareAccountFlags(new Command(mode).exitOverride(), mode);
  command.parse(args, { from: 'user' });
  return command.opts();
}

describe('the commander options come from the table', () => {
  const longFlags = (mode: 'add' | 'edit') => declareAccountFlags(new Command(mode), mode).options.map((o) => o.long);

  it('add offers every flag but --active, and no --no-X form but --no-push', () => {
    const flags = longFlags('add');
    for (const f of ACCOUNT_FLAGS.filter((f) => f.only !== 'edit')) expect(flags).toContain(`--${f.flag}`);
    expect(flags).not.toContain('--active');
    expect(flags.filter((f) => f?.startsWith('--no-'))).toEqual(['--no-push', '--no-test']);
    expect(flags).toContain('--yes');
  });

  it('edit offers --active and a --no-X form for every flag that can be cleared, but not --name', () => {
    const flags = longFlags('edit');
    expect(flags).toContain('--active');
    expect(flags).not.toContain('--name');
    for (const f of ACCOUNT_FLAGS.filter((f) => f.clear)) expect(flags).toContain(`--no-${f.flag}`);
    expect(flags.filter((f) => f?.startsWith('--no-')).sort()).toEqual(['--no-auth-mechanism', '--no-ca', '--no-debug', '--no-deliver', '--no-deliver-to', '--no-exclude-folder', '--no-filter', '--no-fingerprint', '--no-folders', '--no-from', '--no-insecure', '--no-max-per-minute', '--no-max-size', '--no-push', '--no-test']);
  });

  it('the help names the types a flag applies to and differs per command where it should', () => {
    const help = (mode: 'add' | 'edit') => declareAccountFlags(new Command(mode), mode).helpInformation();
    expect(help('add')).toMatch(/--from <address>\s+smtp: From of sent mail/);
    expect(help('add')).toMatch(/--max-size <size>\s+pop3\/imap: leave larger/);
    expect(help('add')).toMatch(/--inactive\s+add the account switched off/);
    expect(help('edit')).toMatch(/--inactive\s+switch the account off/);
    expect(help('edit')).toMatch(/--type <type>\s+must equal the current type/);
  });

  it('parses a real command line into account input, a secret choice and the given fields', () => {
    const flags = commandLine('add', ['--type', 'pop3', '--name', 'arch', '--host', 'pop.example.com', '--user', 'u', '--password-env', 'PW', '--keep-on-server', '--max-size', '20MB', '--inactive', '--ca', 'ca.pem']);
    const { input, secret, given } = parseAccountFlags(flags);
    expect(secret).toEqual({ kind: 'env', name: 'PW' });
    expect([...given].sort()).toEqual(['active', 'ca', 'deleteAfterDownload', 'host', 'maxMessageSize', 'name', 'passwordEnv', 'type', 'user']);
    expect(parseAccount({ ...input, secret: { kind: 'env', name: 'PW' } })).toMatchObject({ type: 'pop3', active: false, deleteAfterDownload: false, maxMessageSize: 20 * 1024 * 1024, tls: { ca: 'ca.pem' } });
    expect(parseAccountFlags(commandLine('add', ['--password-stdin'])).secret).toBe('stdin');
    expect(parseAccountFlags(commandLine('add', ['--password-command', 'pass show x'])).secret).toEqual({ kind: 'command', command: 'pass show x' });
    expect(hasAccountFlags(commandLine('edit', ['--yes', '--no-test']))).toBe(false);
    expect(hasAccountFlags(commandLine('edit', ['--no-debug']))).toBe(true);
  });
});

describe('flags over an edited account', () => {
  it('a port that was the default follows a new security', () => {
    expect(parseAccount(inputFrom({ security: 'starttls' })).port).toBe(587);
    const custom = { ...base, port: 2465 };
    expect(parseAccount(inputFrom({ security: 'starttls' }, custom)).port).toBe(2465);
    expect(parseAccount(inputFrom({ security: 'starttls', port: '25' })).port).toBe(25);
  });
  it('a From that was the user follows a new user; an explicit one stays', () => {
    expect(parseAccount(inputFrom({ user: 'new@example.com' })).from).toBe('new@example.com');
    const explicit = { ...base, from: 'ops@example.com' };
    expect(parseAccount(inputFrom({ user: 'new@example.com' }, explicit)).from).toBe('ops@example.com');
  });
  it('--no-X flags clear, trust flags merge', () => {
    const withAll = { ...base, filter: 'f', tls: { fingerprint: 'AB' } };
    const input = inputFrom(commandLine('edit', ['--no-filter', '--no-fingerprint', '--insecure', '--debug']), withAll);
    expect(input.filter).toBeUndefined();
    expect(input.tls).toEqual({ fingerprint: undefined, insecure: true });
    expect(input.debug).toBe(true);
    expect(inputFrom(commandLine('edit', ['--no-debug']), { ...base, debug: true }).debug).toBe(false);
    expect(inputFrom({ inactive: true }).active).toBe(false);
    expect(inputFrom({ keepOnServer: true }, { ...base, type: 'pop3', deleteAfterDownload: true }).deleteAfterDownload).toBe(false);
  });
});

describe('what a script must give', () => {
  it('names every missing flag', () => {
    // All in one round (issue 9): without a type the login is needed too, unless --auth none.
    expect(missingFlags({}, undefined)).toEqual(['--type', '--name', '--host', '--user', 'a secret source (--password-stdin, --password-env VAR or --password-command CMD)']);
    expect(missingFlags({ auth: 'none' }, undefined)).toEqual(['--type', '--name', '--host']);
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
    expect(effectiveAuth({ type: 'smtp' }, 'stdin')).toBe('password');
    expect(effectiveAuth({ type: 'imap' }, undefined)).toBe('password');
    expect(effectiveAuth({ type: 'imap', auth: 'OAuth2' }, undefined)).toBe('oauth2');
  });
});

describe('flag values are checked before anything else', () => {
  it('usage errors (64) for two flags of one group, naming the group', () => {
    expect(() => checkFlagValues({ passwordEnv: 'A', passwordCommand: 'b' })).toThrow(
      expect.objectContaining({ exitCode: 64, message: 'choose one secret source: --password-stdin, --password-env VAR or --password-command CMD' }),
    );
    expect(() => checkFlagValues({ deleteAfterDownload: true, keepOnServer: true })).toThrow('choose one of --delete-after-download or --keep-on-server');
    expect(() => checkFlagValues({ inactive: true, active: true })).toThrow(expect.objectContaining({ exitCode: 64 }));
  });
  it('value errors (65) name the flag, the value and what is accepted', () => {
    expect(() => checkFlagValues({ port: '0' })).toThrow(expect.objectContaining({ exitCode: 65, field: 'port' }));
    expect(() => checkFlagValues({ maxSize: 'lots' })).toThrow(/invalid max-size "lots"/);
    expect(() => checkFlagValues({ passwordEnv: 'not valid' })).toThrow(/invalid password-env/);
    expect(() => checkFlagValues({ passwordCommand: ' ' })).toThrow(/invalid password-command " ": expected a shell command/);
    expect(() => checkFlagValues({ filter: 'a b' })).toThrow(/invalid filter "a b"/);
    expect(() => checkFlagValues({ type: 'imap', host: 'h.example.com', port: '993', fingerprint: 'ab'.repeat(32) })).not.toThrow();
    // A cleared value (--no-fingerprint) is not checked as a value.
    expect(() => checkFlagValues({ fingerprint: false })).not.toThrow();
  });
  it('reads the stdin password without its trailing newline, refuses an empty one', () => {
    expect(parseStdinSecret('p@ss w0rd"é\n')).toBe('p@ss w0rd"é');
    expect(parseStdinSecret('two\nlines\r\n')).toBe('two\nlines');
    expect(() => parseStdinSecret('\n', 'edit')).toThrow(expect.objectContaining({ exitCode: 65, field: 'password', hint: expect.stringContaining('mailbox edit') }));
  });
});

describe('--push / --no-push (issue 15)', () => {
  const imapAccount = parseAccount({ name: 'in', type: 'imap', host: 'imap.example.com', user: 'me@example.com', secret: { kind: 'env', name: 'PW' } });
  it('add and edit both take --push and --no-push; off is kept as push: false, on as nothing', () => {
    for (const mode of ['add', 'edit'] as const) {
      expect(commandLine(mode, ['--no-push']).push).toBe(false);
      expect(commandLine(mode, ['--push']).push).toBe(true);
      expect(commandLine(mode, []).push).toBeUndefined();
    }
    const off = parseAccount(inputFrom({ push: false }, imapAccount));
    expect(off.push).toBe(false);
    expect(parseAccount(inputFrom({ push: true }, off)).push).toBeUndefined();
  });
  it('a pop3 account cannot turn push off: the message names the field', () => {
    const pop = parseAccount({ name: 'p', type: 'pop3', host: 'pop.example.com', user: 'me@example.com', secret: { kind: 'env', name: 'PW' } });
    expect(() => parseAccount(inputFrom({ push: false }, pop))).toThrow(/push.*imap accounts only/);
  });
});
