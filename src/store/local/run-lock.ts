// One runner per store: state/run.lock holds the runner's pid. A lock whose pid is gone (the runner
// was killed) is taken over; the takeover itself is guarded by a mkdir mutex so two new runners
// racing for a stale lock cannot both win. Hand-written instead of proper-lockfile: that one
// detects staleness by mtime only (seconds late after a SIGKILL) and cannot name the holder.
import fs from 'node:fs/promises';
import path from 'node:path';
import { MailboxError } from '../../core/errors.js';
import type { HeldRunLock, RunLock } from '../types.js';
import { ensureDir, ioError, syncDir } from './files.js';

export interface LockDeps {
  pid: number;
  /** Whether a process with this pid exists (process.kill(pid, 0) at the edge). */
  isAlive: (pid: number) => boolean;
  sleep?: (ms: number) => Promise<void>;
}

/** state/run.lock, holding the runner's pid. */
export class FileRunLock implements RunLock {
  constructor(
    readonly file: string,
    private readonly deps: LockDeps,
  ) {}

  acquire(): Promise<HeldRunLock> {
    return acquireRunLock(this.file, this.deps);
  }

  holder(): Promise<number | null> {
    return lockHolder(this.file, this.deps.isAlive);
  }
}

async function readLockPid(file: string): Promise<number | null> {
  try {
    const pid = Number.parseInt((await fs.readFile(file, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The pid of the runner holding the store, or null. */
async function lockHolder(file: string, isAlive: (pid: number) => boolean): Promise<number | null> {
  const pid = await readLockPid(file);
  return pid !== null && isAlive(pid) ? pid : null;
}

function locked(file: string, pid: number): MailboxError {
  return new MailboxError('ELOCKED', `another mailbox runner (pid ${pid}) holds this store`, {
    hint: `stop it first, or use another MAILBOX_HOME; if pid ${pid} is not a mailbox runner, remove ${file}`,
  });
}

async function acquireRunLock(file: string, deps: LockDeps): Promise<HeldRunLock> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  await ensureDir(path.dirname(file));
  const mine = `${file}.${deps.pid}`;
  await fs.writeFile(mine, `${deps.pid}\n`, { mode: 0o644 }).catch((err) => {
    throw ioError('write', mine, err);
  });
  const mutex = `${file}.takeover`;
  let tookOverFrom: number | null = null;
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        await fs.link(mine, file); // atomic: fails if a lock exists
        // A power loss must not lose the lock: it tells of a crash.
        await syncDir(path.dirname(file)).catch(() => undefined);
        return { tookOverFrom, release: () => releaseIfMine(file, deps.pid) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('create', file, err);
      }
      const holder = await readLockPid(file);
      if (holder === deps.pid) return { tookOverFrom, release: () => releaseIfMine(file, deps.pid) };
      if (holder !== null && deps.isAlive(holder)) throw locked(file, holder);
      // Stale (or half-written): take it over under the mutex, re-checking inside.
      try {
        await fs.mkdir(mutex);
      } catch {
        await clearOldMutex(mutex);
        await sleep(20);
        continue;
      }
      try {
        const again = await readLockPid(file);
        if (again === holder) {
          await fs.unlink(file).catch(() => undefined);
          tookOverFrom = holder;
        }
      } finally {
        await fs.rmdir(mutex).catch(() => undefined);
      }
    }
    throw new MailboxError('ELOCKED', `could not take over the runner lock ${file}`, { hint: 'try again' });
  } finally {
    await fs.unlink(mine).catch(() => undefined);
  }
}

/** A takeover mutex left by a runner killed inside the takeover: removed after 10 s. */
async function clearOldMutex(mutex: string): Promise<void> {
  const stat = await fs.stat(mutex).catch(() => undefined);
  if (stat && Date.now() - stat.mtimeMs > 10_000) await fs.rmdir(mutex).catch(() => undefined);
}

async function releaseIfMine(file: string, pid: number): Promise<void> {
  if ((await readLockPid(file)) === pid) await fs.unlink(file).catch(() => undefined);
}
