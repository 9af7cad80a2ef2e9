// A keychain that answers but is locked (issue 9 item 8, first half), against gnome-keyring in a
// private D-Bus session with its login keyring locked: every command that needs it says the keychain
// is locked and how to unlock it (or which other secret source to use), not "run a Secret Service".
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, startSecretService, type PlainDovecot, type SecretService } from '../harness/index.js';
import { runMailbox, tmpHome, type RunResult } from '../helpers/cli.js';

let ss: SecretService;
let dovecot: PlainDovecot;
const cleanups: Array<() => void> = [];

beforeAll(async () => {
  [ss, dovecot] = await Promise.all([startSecretService(), startDovecot({ starttls: false })]);
  // An entry stored while it was open, then the keyring locked, as after a reboot.
  const store = promisify(execFile)('secret-tool', ['store', '--label', 'mailbox/work', 'service', 'mailbox', 'username', 'work'], { env: { ...process.env, ...ss.env } });
  store.child.stdin?.end('alice-secret');
  await store;
  await ss.lock();
});
afterAll(async () => {
  await Promise.all([ss?.stop(), dovecot?.stop()]);
  for (const c of cleanups) c();
});

function home(accounts: unknown[] = []): string {
  const { home: dir, cleanup } = tmpHome();
  cleanups.push(cleanup);
  if (accounts.length) fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ version: 1, accounts, filters: [] }), { mode: 0o600 });
  return dir;
}

function expectLocked(r: RunResult, text: string): void {
  expect(r.code, text).toBe(78);
  expect(text).toContain('the OS keychain is locked');
  expect(text).toContain('unlock it, then try again: log in to the desktop session');
  expect(text).not.toContain('run a Secret Service');
}

const keychainAccount = () => ({
  name: 'work', type: 'imap', host: dovecot.host, port: dovecot.imapPort, security: 'none', auth: 'password', user: 'alice',
  secret: { kind: 'keychain', service: 'mailbox', key: 'work' }, folder: 'INBOX', active: true, debug: false, tls: {},
});

describe('a locked keychain', () => {
  it('add --password-stdin: 78, says it is locked and how to unlock it, names the other sources; nothing saved', async () => {
    const dir = home();
    const r = await runMailbox(['add', '--type', 'imap', '--name', 'work', '--host', 'imap.example.com', '--user', 'me', '--password-stdin', '--no-test'], {
      home: dir, input: 'p4ss', env: { ...ss.env },
    });
    expectLocked(r, r.stderr);
    expect(r.stderr).toContain('run mailbox add again with --password-env VAR, or with --password-command "CMD"');
    expect(fs.existsSync(path.join(dir, 'config.json'))).toBe(false);
  });

  it('test and run of an account whose password is in it: the same words', async () => {
    const dir = home([keychainAccount()]);
    const test = await runMailbox(['test', 'work', '--json'], { home: dir, env: { ...ss.env } });
    const [result] = JSON.parse(test.stdout) as Array<{ error: { message: string; hint: string } }>;
    expectLocked(test, `${result!.error.message} ${result!.error.hint}`);
    const run = await runMailbox(['run', '--once', '--log-format', 'json'], { home: dir, env: { ...ss.env } });
    const line = JSON.parse(run.stdout.trim()) as { error: { message: string; hint: string } };
    expectLocked(run, `${line.error.message} ${line.error.hint}`);
  });
});
