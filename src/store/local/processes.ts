// Which process left a file: a pid alone cannot say, because pids are reused. On Linux a process is
// known by its pid and its start time (clock ticks since boot, /proc/PID/stat) on this boot
// (/proc/sys/kernel/random/boot_id); elsewhere only the pid is known and a live pid counts as alive.
// Used by the run lock and to recognise files a killed `mailbox send` or runner left behind.
import fs from 'node:fs/promises';

/** A process as recorded in a lock or a file name; `start` and `boot` are null where unknown. */
export interface ProcessId {
  pid: number;
  start: string | null;
  boot: string | null;
}

/** What the kernel says about processes (/proc on Linux; injected by tests). */
export interface ProcTable {
  /** The start time of `pid` (clock ticks since boot), or null when unknown or not running. */
  start(pid: number): Promise<string | null>;
  /** This boot's id, or null. */
  boot(): Promise<string | null>;
  /** When `pid` started (ms since the epoch), or null. */
  startedAt(pid: number): Promise<number | null>;
}

/** Clock ticks per second of /proc/PID/stat: USER_HZ, 100 on every Linux architecture in use. */
const USER_HZ = 100;

async function readProc(file: string): Promise<string | null> {
  return fs.readFile(file, 'utf8').catch(() => null);
}

/** Field 22 of /proc/PID/stat; the command name (field 2) may hold spaces and parentheses. */
async function procStart(pid: number): Promise<string | null> {
  const stat = await readProc(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
}

export const linuxProcTable: ProcTable = {
  start: procStart,
  async boot() {
    return (await readProc('/proc/sys/kernel/random/boot_id'))?.trim() || null;
  },
  async startedAt(pid) {
    const [start, stat] = await Promise.all([procStart(pid), readProc('/proc/stat')]);
    const btime = stat && /^btime (\d+)$/m.exec(stat)?.[1];
    return start && btime ? Number(btime) * 1000 + (Number(start) * 1000) / USER_HZ : null;
  },
};

/** "PID-START" (or "PID"), for file names. */
export function processTag(id: ProcessId): string {
  return id.start ? `${id.pid}-${id.start}` : String(id.pid);
}

/** The process a tag names (boot unknown), or undefined when `text` is no tag. */
export function parseProcessTag(text: string): ProcessId | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  return m ? { pid: Number(m[1]), start: m[2] ?? null, boot: null } : undefined;
}

export class Processes {
  constructor(
    /** Whether a process with this pid exists (process.kill(pid, 0) at the edge). */
    private readonly isAlive: (pid: number) => boolean,
    private readonly proc: ProcTable = linuxProcTable,
  ) {}

  /** The identity of the running process `pid`. */
  async identify(pid: number): Promise<ProcessId> {
    const [start, boot] = await Promise.all([this.proc.start(pid), this.proc.boot()]);
    return { pid, start, boot };
  }

  /**
   * Whether the process `id` names still runs: its pid is alive and, where known, has the same start
   * time on the same boot. A record without a start time (written by an older mailbox, or by hand)
   * cannot belong to a process that started after `writtenAt` (ms), the time the record was written.
   */
  async alive(id: ProcessId, writtenAt?: number): Promise<boolean> {
    if (!this.isAlive(id.pid)) return false;
    if (id.boot) {
      const boot = await this.proc.boot();
      if (boot && boot !== id.boot) return false;
    }
    if (id.start) {
      const start = await this.proc.start(id.pid);
      return start === null || start === id.start;
    }
    if (writtenAt === undefined) return true;
    const startedAt = await this.proc.startedAt(id.pid);
    // A second of slack: the clock of the file system and the tick count need not agree exactly.
    return startedAt === null || startedAt <= writtenAt + 1000;
  }
}

export function sameProcess(a: ProcessId, b: ProcessId): boolean {
  return a.pid === b.pid && a.start === b.start && (a.boot === null || b.boot === null || a.boot === b.boot);
}
