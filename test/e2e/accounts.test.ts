// The account commands through the built executable, as a CI script would run them (no terminal).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts, type TestCerts } from '../harness/index.js';
import { runMailbox, tmpHome, type RunResult } from '../helpers/cli.js';
import { onLocalStore, storedConfig } from '../helpers/store.js';

const homes: (() => void)[] = [];
afterAll(() => homes.forEach((cleanup) => cleanup()));

function newHome(): string {
  const { home, cleanup } = tmpHome();
  homes.push(cleanup);
  return home;
}

function json(r: RunResult): any {
  expect(r.stderr).not.toMatch(/internal error/);
  return JSON.parse(r.stdout);
}

const IMAP = ['add', '--type', 'imap', '--name', 'work', '--host', 'imap.example.com', '--user', 'me@example.com', '--password-env', 'WORK_PW', '--no-test'];
const SMTP = (name: string, ...extra: string[]) => ['add', '--type', 'smtp', '--name', name, '--host', 'smtp.example.com', '--no-test', ...extra];

const ACCOUNT_FIELDS = ['name', 'type', 'host', 'port', 'security', 'auth', 'user', 'from', 'active', 'provisioned', 'debug', 'filter', 'secret'];

describe('add, list, show', () => {
  const home = newHome();

  it('adds an account from flags; list --json and show --json carry the contract fields and the secret source', async () => {
    const added = await runMailbox([...IMAP, '--json'], { home });
    expect(added.code).toBe(0);
    expect(added.stderr).toContain('added imap account work (active)');
    const out = json(added);
    expect(out.account).toMatchObject({ name: 'work', type: 'imap', port: 993, security: 'tls', auth: 'password', secret: { kind: 'env', ref: 'WORK_PW', name: 'WORK_PW' } });
    expect(out.deactivated).toEqual([]);

    const list = json(await runMailbox(['list', '--json'], { home }));
    expect(list).toHaveLength(1);
    for (const field of ACCOUNT_FIELDS) expect(list[0]).toHaveProperty(field);
    expect(list[0]).toMatchObject({ user: 'me@example.com', from: null, active: true, provisioned: false, debug: false, filter: null, folder: 'INBOX', deleteAfterDownload: false });

    const show = await runMailbox(['show', 'WORK', '--json'], { home });
    expect(show.code).toBe(0);
    expect(json(show)).toEqual(list[0]);
    // For people, in list's forms (issue 9): no JSON fragments, no internal key names.
    const text = await runMailbox(['show', 'work'], { home });
    expect(text.stdout).toMatch(/^server\s+imap\.example\.com:993$/m);
    expect(text.stdout).toMatch(/^secret\s+env WORK_PW$/m);
    expect(text.stdout).toMatch(/^certificate\s+the system trust store$/m);
    expect(text.stdout).toMatch(/^on the server\s+kept$/m);
    expect(text.stdout).toMatch(/^active\s+yes$/m);
    expect(text.stdout).not.toMatch(/[{}"]|deleteAfterDownload|maxMessageSize|null|true|false/);
  });

  it('stores every incoming and trust option', async () => {
    const r = await runMailbox(
      ['add', '--type', 'pop3', '--name', 'archive', '--host', '10.0.0.5', '--port', '1995', '--user', 'arch', '--password-command', 'pass show mail/archive',
        '--delete-after-download', '--max-size', '20MB', '--inactive', '--debug', '--fingerprint', 'ab'.repeat(32), '--no-test', '--json'],
      { home },
    );
    expect(r.code).toBe(0);
    expect(json(r).account).toMatchObject({
      port: 1995, active: false, debug: true, deleteAfterDownload: true, maxMessageSize: 20 * 1024 * 1024, folder: null,
      secret: { kind: 'command', ref: 'pass show mail/archive', command: 'pass show mail/archive' }, tls: { fingerprint: Array(32).fill('AB').join(':'), insecure: false, ca: null },
    });
  });

  it('filters list by type and activity; text list marks inactive accounts', async () => {
    expect(json(await runMailbox(['list', '--type', 'pop3', '--json'], { home })).map((a: any) => a.name)).toEqual(['archive']);
    expect(json(await runMailbox(['list', '--active', '--json'], { home })).map((a: any) => a.name)).toEqual(['work']);
    const text = await runMailbox(['list'], { home });
    expect(text.stdout).toMatch(/^NAME\s+TYPE\s+SERVER\s+SECURITY\s+USER\s+SECRET\s+ACTIVE\s+FLAGS$/m);
    expect(text.stdout).toMatch(/^archive\s+pop3\s+10\.0\.0\.5:1995\s+tls\s+arch\s+command pass show mail\/archive\s+no\s+debug$/m);
    expect(text.stdout).toMatch(/^work\s+imap\s+imap\.example\.com:993\s+tls\s+me@example\.com\s+env WORK_PW\s+yes\s+-$/m);
    const show = await runMailbox(['show', 'archive'], { home });
    expect(show.stdout).toMatch(/^on the server\s+deleted once stored$/m);
    expect(show.stdout).toMatch(/^max size\s+20 MB$/m);
    expect(show.stdout).toMatch(/^certificate\s+pinned SHA-256 AB:AB:/m);
    const bad = await runMailbox(['list', '--type', 'exchange'], { home });
    expect(bad.code).toBe(65);
    expect(bad.stderr).toContain('invalid type "exchange": expected one of smtp, pop3, imap');
  });

  it('an unknown account is 66, a duplicate name (any case) is 65', async () => {
    const missing = await runMailbox(['show', 'nope', '--json'], { home });
    expect(missing.code).toBe(66);
    expect(missing.stdout).toBe('');
    expect(JSON.parse(missing.stderr).error).toMatchObject({ code: 'ENOTFOUND', exit: 66 });
    const dup = await runMailbox([...IMAP.slice(0, 4), 'WORK', ...IMAP.slice(5)], { home });
    expect(dup.code).toBe(65);
    expect(dup.stderr).toMatch(/an account named work already exists/);
  });
});

describe('scripts without a terminal', () => {
  it('missing required flags: exit 64 naming them, nothing written', async () => {
    const home = newHome();
    const r = await runMailbox(['add', '--type', 'imap', '--name', 'x'], { home });
    expect(r.code).toBe(64);
    expect(storedConfig(home)).toBeUndefined();
    expect(r.stderr).toContain('missing --host; --user; a secret source (--password-stdin, --password-env VAR or --password-command CMD)');
    const none = await runMailbox(['add'], { home });
    expect(none.code).toBe(64);
    // All at once (issue 9: the user and the secret came in a second round).
    expect(none.stderr).toContain('missing --type; --name; --host; --user; a secret source (--password-stdin, --password-env VAR or --password-command CMD)');
    expect(none.stderr).toContain('an smtp relay without login (--auth none) needs no --user and no secret');
    const relay = await runMailbox(['add', '--auth', 'none', '--name', 'r'], { home });
    expect(relay.stderr).toContain('missing --type; --host (no terminal');
    expect(fs.existsSync(path.join(home, 'config.json'))).toBe(false);
  });

  it.each([
    [['--port', '70000'], 'invalid port "70000": expected a whole number from 1 to 65535'],
    [['--host', 'bad_host'], 'invalid host "bad_host"'],
    [['--security', 'ssl3'], 'invalid security "ssl3": expected one of tls, starttls, none (or ssl for tls)'],
    [['--auth', 'kerberos'], 'invalid auth "kerberos": expected one of none, password, oauth2'],
    [['--from', 'me@example.com'], 'invalid from "me@example.com": expected nothing: from applies to smtp accounts only'],
    [['--max-size', 'big'], 'invalid max-size "big"'],
    [['--fingerprint', '12:34'], 'invalid fingerprint "12:34"'],
    [['--insecure', '--fingerprint', 'ab'.repeat(32)], 'invalid insecure true: expected either --insecure or a trust option'],
    [['--name', 'two words'], 'invalid name "two words"'],
    [['--type', 'imap4'], 'invalid type "imap4"'],
  ])('bad value %j: exit 65 naming field, value and accepted values; nothing written', async (flags, message) => {
    const home = newHome();
    const args = [...IMAP];
    for (let i = 0; i < flags.length; i++) {
      const at = args.indexOf(flags[i]!);
      const hasValue = flags[i + 1] !== undefined && !flags[i + 1]!.startsWith('--');
      if (at >= 0) args.splice(at, hasValue ? 2 : 1);
      args.push(flags[i]!);
      if (hasValue) args.push(flags[++i]!);
    }
    const r = await runMailbox([...args, '--json'], { home });
    expect(r.code).toBe(65);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr).error.message).toContain(message);
    expect(storedConfig(home)).toBeUndefined();
  });

  it('no flag takes a password value; two secret sources are a usage error', async () => {
    const home = newHome();
    const r = await runMailbox([...IMAP, '--password', 'hunter2'], { home });
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("unknown option '--password'");
    const two = await runMailbox([...IMAP, '--password-command', 'pass x'], { home });
    expect(two.code).toBe(64);
    expect(two.stderr).toContain('choose one secret source');
  });

  it('warns on stderr for starttls, none and --insecure; --json keeps stdout pure JSON', async () => {
    const home = newHome();
    const r = await runMailbox(SMTP('plain', '--security', 'none', '--json'), { home });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: account plain: security none: nothing is encrypted; the password and every message can be read and changed by anyone on the path/);
    expect(json(r).warnings).toHaveLength(1);
    const s = await runMailbox([...IMAP.map((a) => (a === 'work' ? 'w2' : a)), '--security', 'starttls', '--insecure'], { home });
    expect(s.stderr).toMatch(/warning: account w2: security starttls: the connection starts unencrypted and is encrypted after STARTTLS, before the login; mailbox never continues in plain text/);
    expect(s.stderr).not.toMatch(/risk|expose/);
    expect(s.stderr).toMatch(/warning: account w2: the server certificate is not verified \(insecure\).*--ca FILE or --fingerprint SHA256/);
    expect(s.stdout).toBe('');
    expect((await runMailbox(['list'], { home })).stdout).toMatch(/^w2\s.*\sinsecure$/m);
    // Said when chosen, not on every later write (issue 9): an unrelated edit, or one that keeps starttls.
    const later = await runMailbox(['edit', 'w2', '--debug', '--port', '1143', '--no-test'], { home });
    expect(later.code).toBe(0);
    expect(later.stderr).not.toContain('warning');
    const none = await runMailbox(['edit', 'w2', '--security', 'none', '--no-test', '--json'], { home });
    expect(json(none).warnings).toEqual([expect.stringContaining('account w2: security none')]);
  });

  it('NO_COLOR wins over FORCE_COLOR; colour only when asked', async () => {
    const home = newHome();
    const colored = await runMailbox(SMTP('c1', '--security', 'starttls'), { home, env: { NO_COLOR: '', FORCE_COLOR: '1' } });
    expect(colored.stderr).toContain('\u001b[');
    const plain = await runMailbox(SMTP('c2', '--security', 'starttls'), { home, env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
    expect(plain.stderr).not.toContain('\u001b[');
  });
});

describe('one active SMTP account', () => {
  const home = newHome();

  it('adding an active SMTP account deactivates the other and says which', async () => {
    expect((await runMailbox(SMTP('out1'), { home })).code).toBe(0);
    expect((await runMailbox(IMAP, { home })).code).toBe(0);
    const r = await runMailbox(SMTP('out2', '--json'), { home });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('deactivated smtp account out1 (only one SMTP account is active at a time)');
    expect(json(r).deactivated).toEqual(['out1']);
    const inactive = await runMailbox(SMTP('out3', '--inactive', '--json'), { home });
    expect(json(inactive).deactivated).toEqual([]);
    const active = json(await runMailbox(['list', '--active', '--json'], { home })).map((a: any) => a.name);
    expect(active).toEqual(['work', 'out2']);
  });

  it('activate switches the others off; deactivate; both idempotent; incoming ones stay on', async () => {
    const r = await runMailbox(['activate', 'OUT3', '--json'], { home });
    expect(r.code).toBe(0);
    expect(json(r)).toEqual({ account: 'out3', active: true, changed: true, provisioned: false, deactivated: ['out2'] });
    expect(r.stderr).toContain('deactivated smtp account out2');
    const again = await runMailbox(['activate', 'out3', '--json'], { home });
    expect(json(again)).toMatchObject({ changed: false, deactivated: [] });
    expect(again.stderr).toContain('account out3 is already active');
    expect(json(await runMailbox(['deactivate', 'out3', '--json'], { home }))).toMatchObject({ active: false, changed: true });
    expect(json(await runMailbox(['list', '--active', '--json'], { home })).map((a: any) => a.name)).toEqual(['work']);
    expect((await runMailbox(['activate', 'nope'], { home })).code).toBe(66);
  });

  it('edit --active on an SMTP account follows the same rule', async () => {
    await runMailbox(['activate', 'out1'], { home });
    const r = await runMailbox(['edit', 'out2', '--active', '--json'], { home });
    expect(r.code).toBe(0);
    expect(json(r)).toMatchObject({ changes: ['active'], deactivated: ['out1'] });
  });
});

describe('edit', () => {
  const home = newHome();
  beforeAll(async () => {
    expect((await runMailbox(SMTP('out', '--user', 'me@example.com', '--password-env', 'PW'), { home })).code).toBe(0);
  });

  it('changes single fields; a default port follows the security; From follows the user', async () => {
    const r = await runMailbox(['edit', 'out', '--security', 'starttls', '--user', 'new@example.com', '--no-test', '--json'], { home });
    expect(r.code).toBe(0);
    const out = json(r);
    expect(out.changes).toEqual(['from', 'port', 'security', 'user']);
    expect(out.account).toMatchObject({ port: 587, security: 'starttls', user: 'new@example.com', from: 'new@example.com' });
    expect(r.stderr).toMatch(/warning: account out: security starttls/);
  });

  it('switches the secret source and clears options with --no-X', async () => {
    const r = await runMailbox(['edit', 'out', '--password-command', 'pass show out', '--debug', '--fingerprint', 'cd'.repeat(32), '--no-test', '--json'], { home });
    expect(json(r).account).toMatchObject({ debug: true, secret: { kind: 'command', ref: 'pass show out', command: 'pass show out' } });
    const cleared = json(await runMailbox(['edit', 'out', '--no-debug', '--no-fingerprint', '--no-test', '--json'], { home }));
    expect(cleared.account).toMatchObject({ debug: false, tls: { fingerprint: null } });
    expect(cleared.changes).toEqual(['debug', 'tls']);
  });

  it('nothing to change is exit 0; no flags without a terminal is 64', async () => {
    const same = await runMailbox(['edit', 'out', '--debug', '--json'], { home });
    const twice = await runMailbox(['edit', 'out', '--debug', '--json'], { home });
    expect(same.code).toBe(0);
    expect(json(twice).changes).toEqual([]);
    expect(twice.stderr).toContain('account out: nothing to change');
    const none = await runMailbox(['edit', 'out'], { home });
    expect(none.code).toBe(64);
    expect(none.stderr).toContain('nothing to change: give at least one flag');
  });

  it('the type cannot change (65); bad values (65) and unknown accounts (66) write nothing', async () => {
    const before = storedConfig(home);
    const type = await runMailbox(['edit', 'out', '--type', 'imap'], { home });
    expect(type.code).toBe(65);
    expect(type.stderr).toContain('account out is smtp, and the type of an account cannot change');
    expect((await runMailbox(['edit', 'out', '--port', '0'], { home })).code).toBe(65);
    expect((await runMailbox(['edit', 'out', '--folder', 'INBOX'], { home })).code).toBe(65);
    expect((await runMailbox(['edit', 'ghost', '--port', '25'], { home })).code).toBe(66);
    expect(storedConfig(home)).toBe(before);
  });
});

describe('remove', () => {
  const home = newHome();

  it('needs --yes without a terminal (64), removes with it, 66 for an unknown account', async () => {
    await runMailbox(IMAP, { home });
    const no = await runMailbox(['remove', 'work'], { home });
    expect(no.code).toBe(64);
    expect(no.stderr).toContain('confirm with --yes');
    const yes = await runMailbox(['remove', 'work', '--yes', '--json'], { home });
    expect(yes.code).toBe(0);
    expect(json(yes)).toEqual({ removed: 'work', secretRemoved: null });
    expect(json(await runMailbox(['list', '--json'], { home }))).toEqual([]);
    expect((await runMailbox(['remove', 'work', '--yes'], { home })).code).toBe(66);
  });
});

describe('--ca FILE', () => {
  const home = newHome();
  let certs: TestCerts;
  beforeAll(async () => {
    certs = await makeCerts(path.join(home, 'certs'));
  });

  it('stores the absolute path of a real PEM certificate', async () => {
    const r = await runMailbox([...IMAP, '--ca', path.relative(process.cwd(), certs.caFile), '--json'], { home });
    expect(r.code).toBe(0);
    expect(json(r).account.tls.ca).toBe(certs.caFile);
  });

  it('a missing file is 66, a file that is no certificate is 65', async () => {
    const missing = await runMailbox([...IMAP.map((a) => (a === 'work' ? 'w2' : a)), '--ca', '/nonexistent/ca.pem'], { home });
    expect(missing.code).toBe(66);
    expect(missing.stderr).toContain('no such CA file: /nonexistent/ca.pem');
    const notPem = await runMailbox([...IMAP.map((a) => (a === 'work' ? 'w2' : a)), '--ca', certs.caKeyFile], { home });
    expect(notPem.code).toBe(65);
    expect(notPem.stderr).toContain('expected a PEM file with at least one "-----BEGIN CERTIFICATE-----" block');
  });
});

describe('files', () => {
  // The database's counterparts (its rows broken by hand) are in database.test.ts.
  it.runIf(onLocalStore())('config 0600 in a folder created 0700', async () => {
    const root = newHome();
    const home = path.join(root, 'nested', 'mailbox');
    expect((await runMailbox([...IMAP, '--home', home])).code).toBe(0);
    expect(fs.statSync(path.join(home, 'config.json')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(home).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(root, 'nested')).mode & 0o777).toBe(0o700);
  });

  it.runIf(onLocalStore()).each([
    ['not JSON', '{"accounts": [', /config\.json: not valid JSON/],
    ['a bad entry', JSON.stringify({ accounts: [{ name: 'x', type: 'imap', host: 'h.example.com', port: 99999, user: 'u', secret: { kind: 'env', name: 'P' } }] }), /config\.json: accounts\[0\] \(x\): invalid port 99999/],
    ['a wrong shape', '[1, 2]', /config\.json: expected an object/],
  ])('a corrupt config (%s): exit 78 naming the file and the problem, file byte-identical', async (_what, text, problem) => {
    const home = newHome();
    const file = path.join(home, 'config.json');
    fs.writeFileSync(file, text, { mode: 0o600 });
    for (const args of [['list'], IMAP, ['remove', 'x', '--yes'], ['activate', 'x'], ['filter', 'add', 'f', '--direction', 'inbound'], ['apply', '-f', '-']]) {
      const r = await runMailbox(args, { home, input: '{"accounts": []}' });
      expect(r.code, args.join(' ')).toBe(78);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toMatch(problem);
      expect(r.stderr).toContain('the file was left untouched');
    }
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
  });

  it('ten concurrent adds lose no account', async () => {
    const home = newHome();
    const runs = await Promise.all(Array.from({ length: 10 }, (_, i) => runMailbox(SMTP(`s${i}`, '--inactive'), { home })));
    expect(runs.map((r) => r.code)).toEqual(Array(10).fill(0));
    const names = json(await runMailbox(['list', '--json'], { home })).map((a: any) => a.name).sort();
    expect(names).toEqual(Array.from({ length: 10 }, (_, i) => `s${i}`).sort());
  });

  it('every command documents examples in --help', async () => {
    for (const cmd of [['add'], ['list'], ['show'], ['edit'], ['remove'], ['activate'], ['deactivate'], ['export'], ['apply'], ['filter', 'add'], ['filter', 'list'], ['filter', 'remove'], ['filter', 'test']]) {
      const r = await runMailbox([...cmd, '--help']);
      expect(r.code, cmd.join(' ')).toBe(0);
      expect(r.stdout, cmd.join(' ')).toContain('Examples:');
    }
  });
});
