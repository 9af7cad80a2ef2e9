import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileRunLock, type LockDeps } from '../../src/store/local/run-lock.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-lock-'));
  file = path.join(dir, 'state', 'run.lock');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const acquireRunLock = (file: string, deps: LockDeps) => new FileRunLock(file, deps).acquire();
const lockHolder = (file: string, isAlive: (pid: number) => boolean) => new FileRunLock(file, { pid: 0, isAlive }).holder();

describe('runner lock', () => {
  it('refuses a second runner, naming the pid of the first', async () => {
    const alive = new Set([100]);
    const lock = await acquireRunLock(file, { pid: 100, isAlive: (p) => alive.has(p) });
    await expect(acquireRunLock(file, { pid: 200, isAlive: (p) => alive.has(p) })).rejects.toMatchObject({
      code: 'ELOCKED',
      message: expect.stringContaining('pid 100'),
    });
    expect(await lockHolder(file, (p) => alive.has(p))).toBe(100);
    await lock.release();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('takes over the lock of a runner that was killed', async () => {
    await acquireRunLock(file, { pid: 100, isAlive: () => true });
    const lock = await acquireRunLock(file, { pid: 200, isAlive: (p) => p === 200 });
    expect(lock.tookOverFrom).toBe(100);
    expect(fs.readFileSync(file, 'utf8').trim()).toBe('200');
  });

  it('lets exactly one of many racing runners take over a stale lock', async () => {
    await acquireRunLock(file, { pid: 1, isAlive: () => true });
    const pids = [11, 12, 13, 14, 15, 16];
    const winners: number[] = [];
    const results = await Promise.allSettled(
      pids.map(async (pid) => {
        // the killed runner (pid 1) is gone, every racer is a live process
        await acquireRunLock(file, { pid, isAlive: (p) => pids.includes(p) });
        winners.push(pid);
      }),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(String(winners[0]));
  });
});
