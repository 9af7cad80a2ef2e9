// Secrets in the OS keychain, against a real Secret Service (gnome-keyring in a private D-Bus session).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noSecretServiceEnv, startDovecot, startSecretService, USERS, type Dovecot, type SecretService } from '../harness/index.js';
import { readTree, runMailbox, tmpHome, type RunResult } from '../helpers/cli.js';

const exec = promisify(execFile);
// Space, quote, @, UTF-8: a password that breaks naive quoting.
const PASSWORD = 'p@ss w0rd"é-kc-7731';
const NEW_PASSWORD = 'second-secret-9907';

let ss: SecretService;
const { home, cleanup } = tmpHome();
const outputs: string[] = [];

beforeAll(async () => {
  ss = await startSecretService();
});
afterAll(async () => {
  await ss?.stop();
  cleanup();
});

async function mailbox(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; home?: string } = {}): Promise<RunResult> {
  const r = await runMailbox(args, { home: opts.home ?? home, input: opts.input, env: { ...ss.env, ...opts.env } });
  outputs.push(r.stdout, r.stderr);
  return r;
}

/** Reads the entry back through libsecret's own tool: what any other Secret Service client sees. */
async function keychainEntry(key: string): Promise<string | null> {
  try {
    const { stdout } = await exec('secret-tool', ['lookup', 'service', 'mailbox', 'username', key], { env: { ...process.env, ...ss.env } });
    return stdout;
  } catch {
    return null;
  }
}

const ADD = ['add', '--type', 'imap', '--name', 'Work', '--host', 'imap.example.com', '--user', 'me@example.com', '--password-stdin', '--no-test'];

describe('keychain', () => {
  it('--password-stdin stores the password in the keychain; the config holds only the reference', async () => {
    const r = await mailbox([...ADD, '--json'], { input: `${PASSWORD}\n` });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).account.secret).toEqual({ kind: 'keychain', ref: 'mailbox/work', service: 'mailbox', key: 'work' });
    expect(await keychainEntry('work')).toBe(PASSWORD);
    const config = JSON.parse(fs.readFileSync(path.join(home, 'config.json'), 'utf8'));
    expect(config.accounts[0].secret).toEqual({ kind: 'keychain', service: 'mailbox', key: 'work' });
  });

  it('edit --password-stdin replaces it under the same entry', async () => {
    const r = await mailbox(['edit', 'work', '--password-stdin', '--no-test', '--json'], { input: NEW_PASSWORD });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).changes).toEqual(['password']);
    expect(await keychainEntry('work')).toBe(NEW_PASSWORD);
  });

  it('remove deletes the keychain entry with the account', async () => {
    const r = await mailbox(['remove', 'work', '--yes', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ removed: 'Work', secretRemoved: true });
    expect(await keychainEntry('work')).toBeNull();
  });

  it('switching to --password-env removes the keychain entry it no longer needs', async () => {
    await mailbox(ADD, { input: PASSWORD });
    expect(await keychainEntry('work')).toBe(PASSWORD);
    const r = await mailbox(['edit', 'work', '--password-env', 'WORK_PW', '--no-test', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).account.secret).toEqual({ kind: 'env', ref: 'WORK_PW', name: 'WORK_PW' });
    expect(await keychainEntry('work')).toBeNull();
  });

  it('edit --auth none without a terminal goes ahead and says what it removed (issue 9)', async () => {
    expect((await mailbox(['add', '--type', 'smtp', '--name', 'relay', '--host', 'smtp.example.com', '--user', 'me@example.com', '--password-stdin', '--no-test'], { input: PASSWORD })).code).toBe(0);
    const r = await mailbox(['edit', 'relay', '--auth', 'none', '--no-test']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('account relay: deleted its keychain entry mailbox/relay (no longer used)');
    expect(await keychainEntry('relay')).toBeNull();
    const env = await mailbox(['edit', 'relay', '--auth', 'password', '--user', 'me@example.com', '--password-env', 'RELAY_PW', '--no-test']);
    expect(env.code).toBe(0);
    const none = await mailbox(['edit', 'relay', '--auth', 'none', '--no-test']);
    expect(none.stderr).toContain('account relay: authentication none: the password is no longer read from its environment variable RELAY_PW');
    expect((await mailbox(['remove', 'relay', '--yes'])).code).toBe(0);
  });

  it('apply --prune removes the keychain entry of a pruned account', async () => {
    await mailbox([...ADD.map((a) => (a === 'Work' ? 'gone' : a))], { input: PASSWORD });
    expect(await keychainEntry('gone')).toBe(PASSWORD);
    const doc = JSON.parse((await mailbox(['export'])).stdout);
    doc.accounts = doc.accounts.filter((a: { name: string }) => a.name !== 'gone');
    const r = await mailbox(['apply', '-f', '-', '--prune'], { input: JSON.stringify(doc) });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^remove\s+account gone$/m);
    expect(await keychainEntry('gone')).toBeNull();
  });

  it('keychain unavailable: exit 78 naming the alternatives, nothing written', async () => {
    const { home: empty, cleanup: done } = tmpHome();
    try {
      const r = await mailbox(ADD, { home: empty, input: PASSWORD, env: noSecretServiceEnv() });
      expect(r.code).toBe(78);
      expect(r.stderr).toContain('the OS keychain is unavailable');
      expect(r.stderr).toContain('nothing was saved');
      // The other sources, worded for the command that failed: the account does not exist yet.
      expect(r.stderr).toContain('run mailbox add again with --password-env VAR, or with --password-command "CMD"');
      expect(r.stderr).not.toContain('mailbox edit');
      expect(fs.readdirSync(empty)).toEqual([]);
      const json = await mailbox([...ADD, '--json'], { home: empty, input: PASSWORD, env: noSecretServiceEnv() });
      expect(JSON.parse(json.stderr).error).toMatchObject({ code: 'EKEYCHAIN', exit: 78 });
      expect(json.stdout).toBe('');
      // The alternatives work without any keychain.
      const env = await mailbox([...ADD.filter((a) => a !== '--password-stdin'), '--password-env', 'WORK_PW'], { home: empty, env: noSecretServiceEnv() });
      expect(env.code).toBe(0);
      const before = fs.readFileSync(path.join(empty, 'config.json'));
      const edit = await mailbox(['edit', 'work', '--password-stdin', '--no-test'], { home: empty, input: PASSWORD, env: noSecretServiceEnv() });
      expect(edit.code).toBe(78);
      expect(edit.stderr).toContain('run mailbox edit work again with --password-env VAR');
      expect(fs.readFileSync(path.join(empty, 'config.json')).equals(before)).toBe(true);
    } finally {
      done();
    }
  });

  it('removing an account while the keychain is unavailable removes it and warns about the entry left behind', async () => {
    await mailbox([...ADD.map((a) => (a === 'Work' ? 'stuck' : a))], { input: PASSWORD });
    const r = await mailbox(['remove', 'stuck', '--yes', '--json'], { env: noSecretServiceEnv() });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ removed: 'stuck', secretRemoved: false });
    expect(r.stderr).toContain('could not remove keychain entry mailbox/stuck');
    expect(r.stderr).toContain('secret-tool clear service mailbox username stuck');
    expect(await keychainEntry('stuck')).toBe(PASSWORD);
  });

  describe('read back by the commands that use it, against a real IMAP server', () => {
    let dovecot: Dovecot;
    beforeAll(async () => {
      dovecot = await startDovecot();
    });
    afterAll(() => dovecot?.stop());

    it('add tests with the typed password, then mailbox test logs in with the one read from the keychain', async () => {
      const carol = 'carol@example.test';
      const args = ['add', '--type', 'imap', '--name', 'carol', '--host', '127.0.0.1', '--port', String(dovecot.imapsPort), '--ca', dovecot.caFile, '--user', carol, '--password-stdin'];
      const added = await mailbox(args, { input: `${USERS[carol]}\n` });
      expect(added.code, added.stderr).toBe(0);
      expect(await keychainEntry('carol')).toBe(USERS[carol]);
      const tested = await mailbox(['test', 'carol', '--json']);
      expect(tested.code, tested.stderr).toBe(0);
      expect(JSON.parse(tested.stdout)[0]).toMatchObject({ account: 'carol', ok: true });
      // A wrong password in the keychain is what the login then uses.
      expect((await mailbox(['edit', 'carol', '--password-stdin', '--no-test'], { input: NEW_PASSWORD })).code).toBe(0);
      expect((await mailbox(['test', 'carol'])).code).toBe(77);
    });
  });

  it('no password appears in any file under MAILBOX_HOME or in any output', () => {
    const files = readTree(home);
    for (const secret of [PASSWORD, NEW_PASSWORD, USERS['carol@example.test']!]) {
      expect(files).not.toContain(secret);
      expect(Buffer.from(files, 'latin1').toString('utf8')).not.toContain(secret);
      for (const out of outputs) expect(out).not.toContain(secret);
    }
    expect(outputs.length).toBeGreaterThan(20);
  });
});
