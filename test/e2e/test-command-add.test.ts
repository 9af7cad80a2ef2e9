// The connection test that `mailbox add` / `edit` run before saving: without a terminal a failure is
// not saved and exits with the test's code; on a terminal the diagnosis is shown and the user decides.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type Dovecot } from '../harness/index.js';
import { baseEnv, BIN, readTree, runMailbox, tmpHome } from '../helpers/cli.js';

let dovecot: Dovecot;
const { home, cleanup } = tmpHome();

function addArgs(name: string): string[] {
  return ['add', '--type', 'imap', '--name', name, '--host', '127.0.0.1', '--port', String(dovecot.imapsPort), '--user', 'alice', '--password-env', 'PW', '--ca', dovecot.caFile, '--yes'];
}

function savedNames(): string[] {
  const file = path.join(home, 'config.json');
  if (!fs.existsSync(file)) return [];
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { accounts: { name: string }[] }).accounts.map((a) => a.name);
}

/** Runs mailbox on a pseudo-terminal (util-linux `script`); answers `reply` when `prompt` shows. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv, prompt: string, reply: string): Promise<{ code: number | null; screen: string }> {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const child = spawn('script', ['-qfec', `exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`, '/dev/null'], {
    env: baseEnv({ ...env, MAILBOX_HOME: home, TERM: 'xterm' }),
  });
  let screen = '';
  let answered = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    screen += chunk;
    if (!answered && stripVTControlCharacters(screen).includes(prompt)) {
      answered = true;
      child.stdin.write(reply);
    }
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, screen: stripVTControlCharacters(screen) });
    }),
  );
}

beforeAll(async () => {
  dovecot = await startDovecot();
});
afterAll(async () => {
  await dovecot?.stop();
  cleanup();
});

describe('add tests the connection before saving', () => {
  it('without a terminal: a failing account is not saved and the command exits with the test code', async () => {
    const r = await runMailbox(addArgs('bad'), { home, env: { PW: 'wrong-password' } });
    expect(r.code).toBe(77);
    expect(r.stderr).toMatch(/✗ login .*login as alice failed/);
    expect(r.stderr).toContain('bad: FAILED at login: EAUTH (exit 77)');
    expect(r.stderr).toContain('was not saved');
    expect(savedNames()).not.toContain('bad');
  });

  it('without a terminal: a working account is tested and saved', async () => {
    const r = await runMailbox([...addArgs('good'), '--json'], { home, env: { PW: 'alice-secret' } });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/connection test of good: ok \(\d+ ms\)/);
    expect(JSON.parse(r.stdout).account.name).toBe('good');
    expect(savedNames()).toContain('good');
  });

  it('edit of a connection field tests again: a closed port is refused with 69', async () => {
    const r = await runMailbox(['edit', 'good', '--port', '1'], { home, env: { PW: 'alice-secret' } });
    expect(r.code).toBe(69);
    expect(JSON.parse(fs.readFileSync(path.join(home, 'config.json'), 'utf8')).accounts.find((a: { name: string }) => a.name === 'good').port).toBe(dovecot.imapsPort);
  });

  it('on a terminal: the diagnosis is shown and "n" keeps the account unsaved', async () => {
    const { code, screen } = await onTerminal(addArgs('tty-no'), { PW: 'wrong-password' }, 'Save the account anyway?', 'n\r');
    expect(screen).toContain('FAILED at login');
    expect(code).toBe(77);
    expect(savedNames()).not.toContain('tty-no');
  });

  it('on a terminal: "y" saves the account despite the failure', async () => {
    const { code, screen } = await onTerminal(addArgs('tty-yes'), { PW: 'wrong-password' }, 'Save the account anyway?', 'y\r');
    expect(screen).toContain('hint: check the user name and password');
    expect(code).toBe(0);
    expect(savedNames()).toContain('tty-yes');
    expect(readTree(home)).not.toContain('wrong-password');
  });
});
