// One runner per store: state/run.lock names the runner (first line its pid, second its start time
// and boot, see processes.ts), so a lock whose runner is gone is recognised at once, even when its pid
// now belongs to another process. Hand-written instead of proper-lockfile: that one detects staleness
// by mtime only (seconds late after a SIGKILL) and cannot name the holder.
//
// How a runner takes the store:
//  1. it writes its claim, run.lock.PID-START (0600), and links it to run.lock: the link is atomic and
//     fails when a lock exists, so of two runners racing for a free store exactly one wins;
//  2. a lock whose runner is alive refuses the store (75, naming the pid);
//  3. a stale lock is removed only by a runner that, with its own claim in place, sees no other live
//     claim: of two runners doing so at once, the later one to list sees the other's claim, so at
//     most one removes it, and never a lock a live runner has just made. Runners that see each other
//     step back (withdrawing their claims), all but the one whose claim sorts first, so that one
//     soon finds itself alone. A claim lives only while its runner starts; the claim of a runner
//     killed meanwhile is recognised as dead at once (its identity) and swept by the next start.
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { MailboxError } from '../../core/errors.js';
import { notPlainFile } from '../../core/file-safety.js';
import type { HeldRunLock, RunLock } from '../types.js';
import { ensureDir, FILE_MODE, ioError, syncDir } from './files.js';
import { parseProcessTag, processTag, Processes, sameProcess, type ProcessId, type ProcTable } from './processes.js';

export interface LockDeps {
  pid: number;
  /** Whether a process with this pid exists (process.kill(pid, 0) at the edge). */
  isAlive: (pid: number) => boolean;
  sleep?: (ms: number) => Promise<void>;
  /** The kernel's process table (default /proc). */
  proc?: ProcTable;
}

const ATTEMPTS = 200;

/** state/run.lock, naming the runner. */
export class FileRunLock implements RunLock {
  private readonly processes: Processes;

  constructor(
    readonly file: string,
    private readonly deps: LockDeps,
  ) {
    this.processes = new Processes(deps.isAlive, deps.proc);
  }

  async acquire(): Promise<HeldRunLock> {
    const me = await this.processes.identify(this.deps.pid);
    const dir = path.dirname(this.file);
    await ensureDir(dir);
    await this.sweep(me);
    const claim = `${this.file}.${processTag(me)}`;
    const sleep = this.deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let tookOverFrom: number | null = null;
    const held = (): HeldRunLock => ({ tookOverFrom, release: () => this.releaseIfMine(me) });
    let claimed = false;
    try {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        if (!claimed) await writeClaim(claim, me);
        claimed = true;
        try {
          await fs.link(claim, this.file);
          // A power loss must not lose the lock: it tells of a crash.
          await syncDir(dir).catch(() => undefined);
          return held();
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('create', this.file, err);
        }
        const lock = await readLock(this.file);
        if (lock?.holder && sameProcess(lock.holder, me)) return held();
        if (lock?.holder && (await this.processes.alive(lock.holder, lock.writtenAt))) throw locked(this.file, lock.holder.pid);
        const others = await this.otherClaims(claim);
        if (others.length > 0) {
          // Other runners are starting too. The one whose claim sorts first keeps it and looks
          // again soon; the others step back for a while, so that it finds itself alone.
          if (others.some((other) => other < claim)) {
            await fs.unlink(claim).catch(() => undefined);
            claimed = false;
            await sleep(10 + Math.random() * 30);
          } else {
            await sleep(2 + Math.random() * 3);
          }
          continue;
        }
        const again = await readLock(this.file);
        if (again?.text === lock?.text) {
          await fs.unlink(this.file).catch(() => undefined);
          tookOverFrom = lock?.holder?.pid ?? null;
        }
      }
      throw new MailboxError('ELOCKED', `could not take over the runner lock ${this.file}: other runners are starting at the same time`, { hint: 'try again' });
    } finally {
      await fs.unlink(claim).catch(() => undefined);
    }
  }

  /** The pid of the runner holding the store, or null (none, or its runner is gone). */
  async holder(): Promise<number | null> {
    const lock = await readLock(this.file);
    return lock?.holder && (await this.processes.alive(lock.holder, lock.writtenAt)) ? lock.holder.pid : null;
  }

  /** The claims of runners that are gone (killed while starting), and older versions' litter. */
  private async sweep(me: ProcessId): Promise<void> {
    const base = path.basename(this.file);
    const dir = path.dirname(this.file);
    for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
      if (!name.startsWith(`${base}.`)) continue;
      const entry = path.join(dir, name);
      const rest = name.slice(base.length + 1);
      if (rest === 'takeover') {
        // Before claims there was a takeover folder, left behind by a runner killed inside it.
        await fs.rmdir(entry).catch(() => undefined);
        continue;
      }
      const owner = parseProcessTag(rest);
      if (!owner || sameProcess(owner, me)) continue;
      const st = await fs.lstat(entry).catch(() => undefined);
      if (st && !(await this.processes.alive(owner, st.mtimeMs))) await fs.unlink(entry).catch(() => undefined);
    }
  }

  /** The claims other live runners have in place (their paths). */
  private async otherClaims(mine: string): Promise<string[]> {
    const base = path.basename(this.file);
    const dir = path.dirname(this.file);
    const live: string[] = [];
    for (const name of await fs.readdir(dir)) {
      const entry = path.join(dir, name);
      if (entry === mine || !name.startsWith(`${base}.`)) continue;
      const owner = parseProcessTag(name.slice(base.length + 1));
      if (!owner) continue;
      const st = await fs.lstat(entry).catch(() => undefined);
      if (st && (await this.processes.alive(owner, st.mtimeMs))) live.push(entry);
    }
    return live;
  }

  private async releaseIfMine(me: ProcessId): Promise<void> {
    const lock = await readLock(this.file);
    if (lock?.holder && sameProcess(lock.holder, me)) await fs.unlink(this.file).catch(() => undefined);
  }
}

/** run.lock's text: the pid on the first line (what `head -1 run.lock` gives), the rest of the identity on the second. */
function lockText(me: ProcessId): string {
  return `${me.pid}\nstart ${me.start ?? '-'} boot ${me.boot ?? '-'}\n`;
}

async function writeClaim(claim: string, me: ProcessId): Promise<void> {
  // A claim with this name can only be this process's own, left by an earlier attempt.
  await fs.unlink(claim).catch(() => undefined);
  await fs.writeFile(claim, lockText(me), { mode: FILE_MODE, flag: 'wx' }).catch((err) => {
    throw ioError('write', claim, err);
  });
}

interface LockFile {
  text: string;
  /** Null when the text names no process (empty, or written by hand). */
  holder: ProcessId | null;
  writtenAt: number;
}

/**
 * run.lock as found, or null when there is none. Read without following a link; while a runner takes
 * the store it is also its claim (two names), so unlike other state files a second name is allowed.
 */
async function readLock(file: string): Promise<LockFile | null> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw notPlainFile(file, 'is a symbolic link');
    throw ioError('read', file, err);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notPlainFile(file, 'is not a plain file');
    const text = await handle.readFile('utf8');
    const [first = '', second = ''] = text.split('\n');
    const pid = Number.parseInt(first.trim(), 10);
    const fields = /^start (\S+) boot (\S+)$/.exec(second.trim());
    const known = (v: string | undefined) => (v && v !== '-' ? v : null);
    const holder = Number.isInteger(pid) && pid > 0 ? { pid, start: known(fields?.[1]), boot: known(fields?.[2]) } : null;
    return { text, holder, writtenAt: st.mtimeMs };
  } catch (err) {
    throw err instanceof MailboxError ? err : ioError('read', file, err);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function locked(file: string, pid: number): MailboxError {
  return new MailboxError('ELOCKED', `another mailbox runner (pid ${pid}) holds this store`, {
    hint: `stop it first, or use another MAILBOX_HOME (its lock is ${file})`,
  });
}
