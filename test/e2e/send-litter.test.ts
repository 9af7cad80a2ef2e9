// `mailbox send` and what it leaves (issue 10 item 14, first two): a folder given as the message is
// named as such (65), and a `send` killed while it writes leaves no file in outbox/tmp for long: the
// next runner clears it at its start, a runner already running clears it as it goes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtp, type SmtpServer } from '../harness/index.js';
import { baseEnv, BIN, runMailbox, tmpHome } from '../helpers/cli.js';

let smtp: SmtpServer;
const cleanups: Array<() => void> = [];
beforeAll(async () => {
  smtp = await startSmtp();
});
afterAll(async () => {
  await smtp?.stop();
  for (const c of cleanups) c();
});

function home(accounts: unknown[] = []): string {
  const { home: dir, cleanup } = tmpHome();
  cleanups.push(cleanup);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ version: 1, accounts, filters: [] }), { mode: 0o600 });
  return dir;
}

const outboxTmp = (dir: string) => {
  const tmp = path.join(dir, 'mail', 'outbox', 'tmp');
  return fs.existsSync(tmp) ? fs.readdirSync(tmp) : [];
};

async function until(what: string, test: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A `mailbox send --file -` SIGKILLed once the first half of its message is in outbox/tmp. */
async function killedSend(dir: string): Promise<void> {
  const child = spawn(process.execPath, [BIN, 'send', '--file', '-'], { env: baseEnv({ MAILBOX_HOME: dir }), stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin.write('From: a@example.test\r\nTo: b@example.test\r\nSubject: half\r\n\r\n');
  child.stdin.write('x'.repeat(100_000));
  await until('the half-written file', () => outboxTmp(dir).length > 0);
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
}

describe('mailbox send', () => {
  it('--file DIR and --html-file DIR: 65, saying it is a folder; nothing queued', async () => {
    const dir = home();
    const file = await runMailbox(['send', '--file', dir], { home: dir });
    expect(file.code).toBe(65);
    expect(file.stderr).toContain(`invalid file "${dir}": expected a message file (or - for standard input), not a folder`);
    const html = await runMailbox(['send', '--to', 'b@example.test', '--from', 'a@example.test', '--html-file', dir], { home: dir });
    expect(html.code).toBe(65);
    expect(html.stderr).toContain(`invalid html-file "${dir}": expected a file, not a folder`);
    expect(outboxTmp(dir)).toEqual([]);
    expect((await runMailbox(['emails', '--json'], { home: dir })).stdout.trim()).toBe('[]');
  });

  it('killed mid-message: its file in outbox/tmp is cleared by the next runner, and nothing is queued', async () => {
    const dir = home();
    await killedSend(dir);
    expect(outboxTmp(dir)).toHaveLength(1);
    const r = await runMailbox(['run', '--once'], { home: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(outboxTmp(dir)).toEqual([]);
    expect((await runMailbox(['emails', '--json'], { home: dir })).stdout.trim()).toBe('[]');
  });

  it('killed mid-message while a runner runs: the runner clears it as it goes', async () => {
    const dir = home([
      { name: 'out', type: 'smtp', host: smtp.host, port: smtp.smtpsPort, security: 'tls', auth: 'password', user: 'alice', from: 'alice@example.test',
        secret: { kind: 'env', name: 'MBX_PW' }, active: true, debug: false, tls: { ca: smtp.caFile } },
    ]);
    const runner = spawn(process.execPath, [BIN, 'run', '--send-interval', '1s'], { env: baseEnv({ MAILBOX_HOME: dir, MBX_PW: 'alice-secret' }), stdio: 'ignore' });
    cleanups.push(() => runner.kill('SIGKILL'));
    await until('the runner', () => fs.existsSync(path.join(dir, 'state', 'run.lock')));
    await killedSend(dir);
    await until('outbox/tmp cleared', () => outboxTmp(dir).length === 0, 8000);
    runner.kill('SIGTERM');
    await new Promise((r) => runner.on('exit', r));
  });
});
