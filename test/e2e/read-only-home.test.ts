// A MAILBOX_HOME mailbox cannot write in (issue 10 items 8, and the config lock's wording): every
// command that writes fails at once with 74, naming the path and the permission, instead of waiting
// 20 s to say "locked by another mailbox command" (add, activate, filter add) or calling it a bug (a
// debug account's test). Two forms: the home belongs to root and the command runs as nobody
// (permission denied), and the home is a read-only bind mount (read-only file system). Both need
// root; without it the tests are skipped, saying why.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, BIN, tmpHome, type RunResult } from '../helpers/cli.js';

const root = process.getuid?.() === 0;
const canRunAsNobody = root && spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'true']).status === 0;
const canMountReadOnly = root && spawnSync('unshare', ['-m', 'true']).status === 0;
if (!canRunAsNobody) console.warn('read-only-home: skipped the permission-denied form (needs root and setpriv)');
if (!canMountReadOnly) console.warn('read-only-home: skipped the read-only-mount form (needs root and unshare -m)');

let home: string;
let cleanup: () => void;

beforeAll(() => {
  ({ home, cleanup } = tmpHome());
  // Root's, readable by everyone: nobody can read the config but write nothing.
  fs.chmodSync(home, 0o755);
  const common = { host: '127.0.0.1', port: 1, security: 'none', auth: 'password', user: 'u', secret: { kind: 'env', name: 'PW' }, debug: true, tls: {} };
  const accounts = [
    { ...common, name: 'work', type: 'imap', folder: 'INBOX', active: true },
    { ...common, name: 'spare', type: 'pop3', active: false },
    { ...common, name: 'out', type: 'smtp', from: 'a@example.test', active: false, debug: false },
  ];
  fs.writeFileSync(path.join(home, 'config.json'), JSON.stringify({ version: 1, accounts, filters: [] }), { mode: 0o644 });
  fs.writeFileSync(path.join(home, 'apply.json'), JSON.stringify({ accounts: [], filters: [{ name: 'junk', direction: 'inbound', allow: [], deny: ['spam.test'] }] }), { mode: 0o644 });
});
afterAll(() => cleanup?.());

function run(form: 'nobody' | 'read-only', args: string[]): Promise<Omit<RunResult, 'stdoutBytes'> & { ms: number }> {
  const node = [process.execPath, BIN, ...args];
  const [command, ...rest] =
    form === 'nobody'
      ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', ...node]
      : ['unshare', '-m', 'sh', '-c', 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"', 'sh', home, ...node];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command!, rest, { env: baseEnv({ MAILBOX_HOME: home, PW: 'x' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

const COMMANDS: string[][] = [
  ['add', '--type', 'imap', '--name', 'new', '--host', 'h.example', '--user', 'u', '--password-env', 'PW', '--no-test'],
  ['edit', 'work', '--port', '2', '--no-test'],
  ['activate', 'spare'],
  ['deactivate', 'work'],
  ['remove', 'spare', '--yes'],
  ['filter', 'add', 'junk', '--direction', 'inbound', '--deny', 'spam.test'],
  ['apply', '-f', 'APPLY'],
  ['test', 'work', '--timeout', '2'],
  ['send', '--to', 'b@example.test', '--from', 'a@example.test', '--text', 'x'],
  ['run', '--once'],
];

describe.each([
  { form: 'nobody' as const, words: 'permission denied', enabled: canRunAsNobody },
  { form: 'read-only' as const, words: 'read-only file system', enabled: canMountReadOnly },
])('a home mailbox cannot write in ($form)', ({ form, words, enabled }) => {
  it.skipIf(!enabled).each(COMMANDS.map((args) => ({ args, name: args.slice(0, 2).join(' ') })))('mailbox $name: 74 at once, naming the path and "' + words + '"', async ({ args }) => {
    const before = fs.readFileSync(path.join(home, 'config.json'), 'utf8');
    const r = await run(form, args.map((a) => (a === 'APPLY' ? path.join(home, 'apply.json') : a)));
    expect(r.code, r.stderr).toBe(74);
    expect(r.ms).toBeLessThan(5000);
    expect(r.stderr).toContain(home);
    expect(r.stderr).toContain(words);
    expect(r.stderr).not.toMatch(/locked by another|internal error|this is a bug/);
    expect(fs.readFileSync(path.join(home, 'config.json'), 'utf8')).toBe(before);
  });
});
