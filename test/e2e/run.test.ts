// `mailbox run` as an admin runs it: every protocol in one --once cycle, JSON lines, status, one broken
// account beside working ones, the lock, signals, and a debug run that leaves no secret on disk.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, startDovecot, startSmtp, type Dovecot, type SmtpServer } from '../harness/index.js';
import { baseEnv, BIN, readTree, runMailbox, tmpHome } from '../helpers/cli.js';
import { breakConfig, onLocalStore, runLockLeft, storedSources, storeText, writeConfig } from '../helpers/store.js';

const PASSWORD = 'alice-secret';
let dovecot: Dovecot;
let smtp: SmtpServer;
const homes: Array<() => void> = [];

beforeAll(async () => {
  [dovecot, smtp] = await Promise.all([startDovecot(), startSmtp()]);
});
afterAll(async () => {
  await Promise.all([dovecot?.stop(), smtp?.stop()]);
});
afterEach(() => {
  for (const cleanup of homes.splice(0)) cleanup();
});

function accounts(over: { debug?: boolean; brokenPort?: number } = {}) {
  const common = { user: 'alice', secret: { kind: 'env', name: 'MBX_PW' }, security: 'tls', debug: Boolean(over.debug) };
  return [
    { ...common, name: 'work-imap', type: 'imap', host: dovecot.host, port: dovecot.imapsPort, tls: { ca: dovecot.caFile } },
    { ...common, name: 'work-pop', type: 'pop3', host: dovecot.host, port: dovecot.pop3sPort, tls: { ca: dovecot.caFile } },
    ...(over.brokenPort ? [{ ...common, name: 'broken', type: 'imap', host: '127.0.0.1', port: over.brokenPort, security: 'none' }] : []),
    { ...common, name: 'work-smtp', type: 'smtp', host: smtp.host, port: smtp.smtpsPort, from: 'alice@example.test', tls: { ca: smtp.caFile } },
  ];
}

function home(config: unknown[]): string {
  const { home: dir, cleanup } = tmpHome();
  homes.push(cleanup);
  writeConfig(dir, { version: 1, accounts: config, filters: [] });
  return dir;
}

const env = { MBX_PW: PASSWORD };

async function deliver(n: number, tag: string): Promise<void> {
  for (let i = 0; i < n; i++) await dovecot.deliver('alice', `Message-ID: <${tag}${i}@test>\r\nFrom: x@example.test\r\nSubject: ${tag} ${i}\r\n\r\nbody\r\n`);
}


interface Background {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function background(args: string[], dir: string): Background {
  const child = spawn(process.execPath, [BIN, ...args], { env: baseEnv({ MAILBOX_HOME: dir, ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => output, exited };
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('mailbox run --once', () => {
  it('reads IMAP and POP3 and sends the queue, one JSON line per account, then status tells', async () => {
    await dovecot.doveadm(['expunge', '-u', 'alice', 'mailbox', 'INBOX', 'all']).catch(() => undefined);
    await deliver(3, 'once');
    const dir = home(accounts());
    expect((await runMailbox(['send', '--to', 'bob@example.test', '--subject', 'hi', '--text', 'hello'], { home: dir, env })).code).toBe(0);
    const r = await runMailbox(['run', '--once', '--log-format', 'json'], { home: dir, env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => `${l.job} ${l.account}`).sort()).toEqual(['read work-imap', 'read work-pop', 'send work-smtp']);
    for (const l of lines) expect(l).toMatchObject({ ok: true, error: null, durationMs: expect.any(Number), time: expect.any(String) });
    expect(lines.find((l) => l.account === 'work-imap')).toMatchObject({ received: 3 });
    expect(lines.find((l) => l.account === 'work-smtp')).toMatchObject({ sent: 1 });
    // The same 3 messages over both protocols: stored twice, once per account, each tagged with its source.
    expect(storedSources(dir).filter((s) => s.startsWith('work-imap+')).length).toBe(3);
    expect(storedSources(dir).filter((s) => s.startsWith('work-pop+')).length).toBe(3);
    const status = JSON.parse((await runMailbox(['status', '--json'], { home: dir, env })).stdout);
    expect(status.runner).toEqual({ running: false, pid: null });
    expect(status.queue.waiting).toBe(0);
    expect(status.accounts.map((a: { name: string; ok: boolean }) => [a.name, a.ok])).toEqual([
      ['work-imap', true],
      ['work-pop', true],
      ['work-smtp', true],
    ]);
    const text = await runMailbox(['run', '--once'], { home: dir, env });
    expect(text.stdout).toMatch(/read work-imap: no new mail \(\d+\.\d+s\)/);
  });

  it('one broken account is reported and does not stop the others; the exit code is its failure', async () => {
    await deliver(2, 'broken');
    const dir = home(accounts({ brokenPort: await closedPort() }));
    const r = await runMailbox(['run', '--once'], { home: dir, env });
    expect(r.code).toBe(69);
    expect(r.stdout).toMatch(/read broken: FAILED: account broken: connection refused/);
    expect(r.stdout).toMatch(/read work-imap: \d+ new/);
    expect(r.stdout).toMatch(/read work-pop: \d+ new/);
    const status = JSON.parse((await runMailbox(['status', '--json'], { home: dir, env })).stdout);
    const broken = status.accounts.find((a: { name: string }) => a.name === 'broken');
    expect(broken).toMatchObject({ ok: false, lastError: { message: expect.stringContaining('connection refused') } });
  });

  it('with debug on for every protocol, no secret lands anywhere under MAILBOX_HOME', async () => {
    await deliver(2, 'debug');
    const dir = home(accounts({ debug: true }));
    await runMailbox(['send', '--to', 'bob@example.test', '--subject', 'dbg', '--text', 'x'], { home: dir, env });
    const r = await runMailbox(['run', '--once'], { home: dir, env });
    expect(r.code).toBe(0);
    const logs = fs.readdirSync(path.join(dir, 'state', 'logs')).sort();
    expect(logs).toEqual(['work-imap.log', 'work-pop.log', 'work-smtp.log']);
    for (const log of logs) {
      const file = path.join(dir, 'state', 'logs', log);
      expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('600');
      expect(fs.readFileSync(file, 'utf8')).toMatch(/ C /); // the exchange really is logged
    }
    const everything = storeText(dir, readTree) + r.stdout + r.stderr;
    for (const form of [PASSWORD, Buffer.from(PASSWORD).toString('base64'), Buffer.from(`\0alice\0${PASSWORD}`).toString('base64')]) {
      expect(everything).not.toContain(form);
    }
  });
});

describe('the runner process', () => {
  it('holds the store: a second runner exits 75 naming the pid (a database: it is a second worker, and reads no account the first holds); SIGTERM stops it with 0', async () => {
    const dir = home(accounts());
    const runner = background(['run', '--read-interval', '1h', '--send-interval', '1h'], dir);
    try {
      await until('the first cycle', () => /read work-imap/.test(runner.output()));
      const second = await runMailbox(['run', '--once'], { home: dir, env });
      if (onLocalStore()) {
        expect(second.code).toBe(75);
        expect(second.stderr).toContain(`pid ${runner.child.pid}`);
      } else {
        expect(second.code).toBe(0);
        expect(second.stdout).not.toMatch(/read work-(imap|pop)/);
      }
      const status = JSON.parse((await runMailbox(['status', '--json'], { home: dir, env })).stdout);
      expect(status.runner).toEqual({ running: true, pid: runner.child.pid });
      const stoppedAt = Date.now();
      runner.child.kill('SIGTERM');
      expect(await runner.exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - stoppedAt).toBeLessThan(5000);
      expect(runLockLeft(dir)).toBe(false);
    } finally {
      runner.child.kill('SIGKILL');
    }
  });

  it('a config.json broken while it runs stops it within about a second: exit 78, no run.lock left', async () => {
    const dir = home(accounts());
    const runner = background(['run', '--read-interval', '1s'], dir);
    try {
      await until('the first cycle', () => /read work-imap/.test(runner.output()));
      const problem = breakConfig(dir);
      const broken = Date.now();
      const exit = await runner.exited;
      expect(exit.code).toBe(78);
      expect(Date.now() - broken).toBeLessThan(2500); // the send loop's minute is not waited for
      expect(runner.output()).toMatch(problem);
      expect(runLockLeft(dir)).toBe(false);
      writeConfig(dir, { version: 1, accounts: accounts(), filters: [] });
      const next = await runMailbox(['run', '--once'], { home: dir, env });
      expect(next.code).toBe(0);
      expect(next.stderr).not.toMatch(/did not stop cleanly/);
    } finally {
      runner.child.kill('SIGKILL');
    }
  });

  it('an --account removed while it runs stops it within about a second: exit 66, no run.lock left', async () => {
    const dir = home(accounts());
    const runner = background(['run', '--read-interval', '1s', '--account', 'work-imap', '--account', 'work-smtp'], dir);
    try {
      await until('the first cycle', () => /read work-imap/.test(runner.output()));
      writeConfig(dir, { version: 1, accounts: accounts().filter((a) => a.name !== 'work-imap'), filters: [] });
      const removed = Date.now();
      const exit = await runner.exited;
      expect(exit.code).toBe(66);
      expect(Date.now() - removed).toBeLessThan(2500);
      expect(runner.output()).toMatch(/no account named "work-imap"/);
      expect(runLockLeft(dir)).toBe(false);
    } finally {
      runner.child.kill('SIGKILL');
    }
  });

  it('takes over the lock of a killed runner; a second signal exits at once', async () => {
    const dir = home(accounts());
    const killed = background(['run', '--read-interval', '1h', '--send-interval', '1h'], dir);
    await until('the first cycle', () => /read work-pop/.test(killed.output()));
    killed.child.kill('SIGKILL');
    await killed.exited;
    expect(runLockLeft(dir)).toBe(true);
    const next = await runMailbox(['run', '--once'], { home: dir, env });
    expect(next.code).toBe(0);
    expect(next.stderr).toContain(`the previous runner (pid ${killed.child.pid}) did not stop cleanly`);

    const twice = background(['run', '--read-interval', '1h', '--send-interval', '1h'], dir);
    await until('the first cycle', () => /read work-pop/.test(twice.output()));
    twice.child.kill('SIGINT');
    twice.child.kill('SIGINT');
    const signalled = Date.now();
    const exit = await twice.exited;
    expect([0, 130]).toContain(exit.code);
    expect(Date.now() - signalled).toBeLessThan(2500);
  });
});
