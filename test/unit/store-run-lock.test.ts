// The runner lock with a scripted process table: which pids run, since when, on which boot. The same
// lock against real processes (SIGKILLed runners, a reused pid) is in test/e2e/run-lock.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileRunLock } from '../../src/store/local/run-lock.js';
import type { ProcTable } from '../../src/store/local/processes.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-lock-'));
  file = path.join(dir, 'state', 'run.lock');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The machine as the lock sees it: running pids with their start ticks, and the boot. */
class Machine implements ProcTable {
  readonly running = new Map<number, { start: string; startedAt: number }>();
  bootId = 'boot-1';

  run(pid: number, start: string, startedAt = 0): this {
    this.running.set(pid, { start, startedAt });
    return this;
  }
  kill(pid: number): void {
    this.running.delete(pid);
  }
  async start(pid: number) {
    return this.running.get(pid)?.start ?? null;
  }
  async boot() {
    return this.bootId;
  }
  async startedAt(pid: number) {
    return this.running.get(pid)?.startedAt ?? null;
  }
  lock(pid: number): FileRunLock {
    return new FileRunLock(file, { pid, isAlive: (p) => this.running.has(p), proc: this });
  }
}

const litter = () => fs.readdirSync(path.dirname(file)).filter((n) => n !== 'run.lock');

describe('runner lock', () => {
  it('refuses a second runner, naming the pid of the first; leaves no claim files behind', async () => {
    const m = new Machine().run(100, '500').run(200, '600');
    const lock = await m.lock(100).acquire();
    await expect(m.lock(200).acquire()).rejects.toMatchObject({ code: 'ELOCKED', message: expect.stringContaining('pid 100') });
    expect(await m.lock(200).holder()).toBe(100);
    expect(fs.readFileSync(file, 'utf8')).toBe('100\nstart 500 boot boot-1\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(litter()).toEqual([]);
    await lock.release();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('takes over the lock of a runner that was killed', async () => {
    const m = new Machine().run(100, '500').run(200, '600');
    await m.lock(100).acquire();
    m.kill(100);
    expect(await m.lock(200).holder()).toBeNull();
    const lock = await m.lock(200).acquire();
    expect(lock.tookOverFrom).toBe(100);
    expect(fs.readFileSync(file, 'utf8').split('\n')[0]).toBe('200');
  });

  it('takes over a lock whose pid now belongs to another process (started later), and status sees no runner', async () => {
    const m = new Machine().run(100, '500').run(200, '600');
    await m.lock(100).acquire();
    m.kill(100);
    m.run(100, '900'); // the pid is reused by something else
    expect(await m.lock(200).holder()).toBeNull();
    const lock = await m.lock(200).acquire();
    expect(lock.tookOverFrom).toBe(100);
  });

  it('takes over a lock written before a reboot, whatever runs under its pid now', async () => {
    const m = new Machine().run(100, '500').run(200, '600');
    await m.lock(100).acquire();
    m.bootId = 'boot-2'; // same pid, same start ticks, another boot
    expect(await m.lock(200).holder()).toBeNull();
    expect((await m.lock(200).acquire()).tookOverFrom).toBe(100);
  });

  it('a lock with a pid only (an older mailbox, or by hand): a process started after it was written is not its runner', async () => {
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, '100\n');
    const written = fs.statSync(file).mtimeMs;
    const m = new Machine().run(100, '500', written - 60_000).run(200, '600');
    await expect(m.lock(200).acquire()).rejects.toMatchObject({ code: 'ELOCKED' });
    m.run(100, '900', written + 60_000);
    expect(await m.lock(200).holder()).toBeNull();
    expect((await m.lock(200).acquire()).tookOverFrom).toBe(100);
  });

  it('a runner killed while taking over leaves nothing that holds up the next one, and no litter', async () => {
    const m = new Machine().run(200, '600');
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, '100\nstart 500 boot boot-1\n'); // the killed runner's lock
    fs.writeFileSync(`${file}.150-550`, '150\nstart 550 boot boot-1\n'); // a runner killed mid-takeover: its claim
    fs.writeFileSync(`${file}.140`, '140\n'); // an older mailbox's claim
    fs.mkdirSync(`${file}.takeover`); // an older mailbox's takeover folder, just left
    const started = Date.now();
    const lock = await m.lock(200).acquire();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(lock.tookOverFrom).toBe(100);
    expect(litter()).toEqual([]);
  });

  it('a live runner that is starting is waited for, not run over', async () => {
    const m = new Machine().run(150, '550').run(200, '600');
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, '100\nstart 500 boot boot-1\n');
    fs.writeFileSync(`${file}.150-550`, '150\nstart 550 boot boot-1\n'); // 150 is taking over right now
    let slept = 0;
    const lock = new FileRunLock(file, {
      pid: 200,
      isAlive: (p) => m.running.has(p),
      proc: m,
      sleep: async () => {
        // 150 finishes its takeover while 200 waits
        if (++slept === 2) {
          fs.rmSync(file);
          fs.linkSync(`${file}.150-550`, file);
          fs.rmSync(`${file}.150-550`);
        }
      },
    });
    await expect(lock.acquire()).rejects.toMatchObject({ code: 'ELOCKED', message: expect.stringContaining('pid 150') });
    expect(slept).toBe(2);
  });

  it('lets exactly one of many racing runners take over a stale lock', async () => {
    const m = new Machine().run(1, '10');
    await m.lock(1).acquire();
    m.kill(1);
    const pids = [11, 12, 13, 14, 15, 16];
    for (const pid of pids) m.run(pid, String(pid * 10));
    const winners: number[] = [];
    const results = await Promise.allSettled(
      pids.map(async (pid) => {
        await m.lock(pid).acquire();
        winners.push(pid);
      }),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ELOCKED', message: expect.stringContaining(`pid ${winners[0]}`) });
    expect(fs.readFileSync(file, 'utf8').split('\n')[0]).toBe(String(winners[0]));
    expect(litter()).toEqual([]);
  });

  it('refuses a link planted as run.lock (78) and leaves its target alone', async () => {
    const m = new Machine().run(200, '600');
    fs.mkdirSync(path.dirname(file));
    const target = path.join(dir, 'target');
    fs.writeFileSync(target, 'precious\n', { mode: 0o644 });
    fs.symlinkSync(target, file);
    await expect(m.lock(200).acquire()).rejects.toMatchObject({ code: 'ECONFIG', message: expect.stringContaining('symbolic link') });
    expect(fs.readFileSync(target, 'utf8')).toBe('precious\n');
    expect(fs.statSync(target).mode & 0o777).toBe(0o644);
  });
});
