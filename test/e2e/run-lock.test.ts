// The runner lock against real processes (issue 10 item 9), through the built executable: runners
// SIGKILLed at random moments of their start (inside a takeover too) never hold up the next one and
// leave no run.lock.* files; a pid in run.lock that now belongs to another process blocks nothing and
// `status` does not report it as a runner; a live runner still refuses a second one (75).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { baseEnv, BIN, runMailbox, tmpHome } from '../helpers/cli.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A home with no account: a runner takes the lock, finds nothing to do, and (with --once) ends. */
function home(): string {
  const { home: dir, cleanup } = tmpHome();
  cleanups.push(cleanup);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ version: 1, accounts: [], filters: [] }), { mode: 0o600 });
  return dir;
}

function start(dir: string, args: string[]): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: baseEnv({ MAILBOX_HOME: dir }), stdio: 'ignore' });
  return { child, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
}

/** A process that lives for the test: its pid is what a stale run.lock names. */
function bystander(): ChildProcess {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  cleanups.push(() => child.kill('SIGKILL'));
  return child;
}

const lockFiles = (dir: string) => fs.readdirSync(path.join(dir, 'state')).filter((n) => n.startsWith('run.lock'));

describe('runners killed while they start', () => {
  it('never hold up the next runner and leave no run.lock.* files', { timeout: 180_000 }, async () => {
    const dir = home();
    // A runner killed while it runs leaves a stale lock: every start below takes it over.
    const first = start(dir, ['run']);
    for (let i = 0; i < 200 && !fs.existsSync(path.join(dir, 'state', 'run.lock')); i++) await new Promise((r) => setTimeout(r, 25));
    first.child.kill('SIGKILL');
    await first.exited;
    const slow: number[] = [];
    const state = path.join(dir, 'state');
    for (let i = 0; i < 24; i++) {
      const victim = start(dir, ['run']);
      // Killed inside its takeover: at the first or the second run.lock.* entry it makes (a claim, a
      // takeover folder, a claim removed), or else at a random moment of its start.
      let seen = 0;
      const watcher = fs.watch(state, (_, name) => {
        if (i % 3 < 2 && name?.startsWith('run.lock.') && ++seen === (i % 3) + 1) victim.child.kill('SIGKILL');
      });
      const timer = setTimeout(() => victim.child.kill('SIGKILL'), i % 3 === 2 ? 60 + Math.random() * 250 : 3000);
      await victim.exited;
      clearTimeout(timer);
      watcher.close();
      // The next runner is not held up by anything the killed one left.
      const started = Date.now();
      const next = await runMailbox(['run', '--once'], { home: dir });
      expect(next.code, next.stderr).toBe(0);
      if (Date.now() - started > 5000) slow.push(Date.now() - started);
    }
    expect(slow).toEqual([]);
    const last = await runMailbox(['run', '--once'], { home: dir });
    expect(last.code, last.stderr).toBe(0);
    expect(lockFiles(dir)).toEqual([]);
  });
});

describe('a pid in run.lock that belongs to another process now', () => {
  it('a lock naming the pid with another start time: status sees no runner, run takes it over', async () => {
    const dir = home();
    const other = bystander();
    fs.mkdirSync(path.join(dir, 'state'), { mode: 0o700 });
    const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    fs.writeFileSync(path.join(dir, 'state', 'run.lock'), `${other.pid}\nstart 1 boot ${boot}\n`, { mode: 0o600 });
    const status = await runMailbox(['status', '--json'], { home: dir });
    expect(JSON.parse(status.stdout).runner).toEqual({ running: false, pid: null });
    const r = await runMailbox(['run', '--once'], { home: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`the previous runner (pid ${other.pid}) did not stop cleanly`);
    expect(lockFiles(dir)).toEqual([]);
  });

  it('a lock with a pid only (an older mailbox), written before that process started: the same', async () => {
    const dir = home();
    fs.mkdirSync(path.join(dir, 'state'), { mode: 0o700 });
    const lock = path.join(dir, 'state', 'run.lock');
    const other = bystander();
    fs.writeFileSync(lock, `${other.pid}\n`, { mode: 0o600 });
    const before = new Date(Date.now() - 60_000);
    fs.utimesSync(lock, before, before);
    const status = await runMailbox(['status', '--json'], { home: dir });
    expect(JSON.parse(status.stdout).runner).toEqual({ running: false, pid: null });
    const r = await runMailbox(['run', '--once'], { home: dir });
    expect(r.code, r.stderr).toBe(0);
  });

  it('a live runner still holds the store: a second one exits 75 naming it, status reports it', async () => {
    const dir = home();
    const runner = start(dir, ['run']);
    cleanups.push(() => runner.child.kill('SIGKILL'));
    for (let i = 0; i < 200 && !fs.existsSync(path.join(dir, 'state', 'run.lock')); i++) await new Promise((r) => setTimeout(r, 25));
    const second = await runMailbox(['run', '--once'], { home: dir });
    expect(second.code).toBe(75);
    expect(second.stderr).toContain(`another mailbox runner (pid ${runner.child.pid}) holds this store`);
    const status = await runMailbox(['status', '--json'], { home: dir });
    expect(JSON.parse(status.stdout).runner).toEqual({ running: true, pid: runner.child.pid });
    runner.child.kill('SIGTERM');
    expect(await runner.exited).toBe(0);
    expect(lockFiles(dir)).toEqual([]);
  });
});
