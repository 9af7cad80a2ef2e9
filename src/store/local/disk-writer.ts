// File writes for the mail store on a few worker threads: one message to a worker per batch of files
// instead of several thread-pool round trips per file on the main thread.
//
// Durability of a batch of messages, in order: every file written to tmp/; the file system flushed
// once with syncfs(2) (`sync -f`), which makes every one of those files durable at once; only then
// the renames into new/, then the directories fsynced. Where `sync -f` is missing (not Linux, old
// coreutils) each file is fdatasynced instead, several at once. Either way no message becomes
// visible, or is recorded as seen, before its bytes are on disk.
import { execFile } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { ioError } from './files.js';

// Plain CommonJS evaluated in the worker: no module resolution, so it runs from src/ and dist/ alike.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
function failure(id, err) {
  return { id, error: { code: err.code, message: err.message, syscall: err.syscall, path: err.path } };
}
function write(job) {
  let fd;
  try {
    fd = fs.openSync(job.tmp, 'wx', 0o600);
    let at = 0;
    while (at < job.data.length) at += fs.writeSync(fd, job.data, at, job.data.length - at);
    if (job.sync) fs.fdatasyncSync(fd);
    fs.closeSync(fd);
    return { id: job.id };
  } catch (err) {
    if (fd !== undefined) try { fs.closeSync(fd); } catch {}
    try { fs.unlinkSync(job.tmp); } catch {}
    return failure(job.id, err);
  }
}
function rename(job) {
  try {
    fs.renameSync(job.from, job.to);
    return { id: job.id };
  } catch (err) {
    return failure(job.id, err);
  }
}
parentPort.on('message', (jobs) => parentPort.postMessage(jobs.map((job) => (job.op === 'write' ? write(job) : rename(job)))));`;

const BATCH = 32;
const BATCH_DELAY_MS = 2;

type Job = { id: number; op: 'write'; tmp: string; data: Uint8Array; sync: boolean } | { id: number; op: 'rename'; from: string; to: string };

interface Slot {
  worker: Worker;
  busy: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  file: string;
}

/** Flushes the file system holding `dir` (syncfs); false when this system cannot. */
function syncFileSystem(dir: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('sync', ['-f', dir], { timeout: 10 * 60_000 }, (err) => resolve(!err));
  });
}

export class DiskWriter {
  private slots: Slot[] = [];
  private readonly waiters = new Map<number, Waiter>();
  private queued: Job[] = [];
  private flushScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  /** Whether `sync -f` works here; decided before the first write. */
  private syncfs: Promise<boolean> | undefined;

  constructor(
    /** The folder whose file system holds the files (for syncfs). */
    private readonly root: string,
    /** Writer threads: one is enough when syncfs makes the files durable (creating files in one
     *  folder from several threads only contends); several keep fdatasyncs in flight otherwise. */
    private readonly threads: { syncfs: number; fdatasync: number } = { syncfs: 1, fdatasync: 4 },
    private readonly flush: (dir: string) => Promise<boolean> = syncFileSystem,
  ) {}

  private start(syncfs: boolean): void {
    const size = syncfs ? this.threads.syncfs : this.threads.fdatasync;
    for (let i = 0; i < size; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      const slot: Slot = { worker, busy: 0 };
      worker.on('message', (replies: Array<{ id: number; error?: NodeJS.ErrnoException }>) => {
        slot.busy -= replies.length;
        if (slot.busy === 0) worker.unref();
        for (const reply of replies) {
          const waiter = this.waiters.get(reply.id);
          this.waiters.delete(reply.id);
          if (!waiter) continue;
          if (reply.error) waiter.reject(ioError('write', waiter.file, Object.assign(new Error(reply.error.message), reply.error)));
          else waiter.resolve();
        }
      });
      worker.on('error', (err) => {
        for (const [id, waiter] of this.waiters) {
          this.waiters.delete(id);
          waiter.reject(err);
        }
      });
      worker.unref();
      this.slots.push(slot);
    }
  }

  private submit(job: Job, file: string, syncfs: boolean): Promise<void> {
    if (this.slots.length === 0) this.start(syncfs);
    this.queued.push(job);
    // Jobs go out in batches: each message to a worker wakes a thread, and on a busy machine a
    // wake-up costs more than the write itself.
    if (this.queued.length >= BATCH) this.dispatch();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.timer = setTimeout(() => this.dispatch(), BATCH_DELAY_MS);
    }
    return new Promise<void>((resolve, reject) => this.waiters.set(job.id, { resolve, reject, file }));
  }

  /** Spreads the jobs queued in this turn over the least busy workers: one message (wake-up) each. */
  private dispatch(): void {
    this.flushScheduled = false;
    clearTimeout(this.timer);
    const jobs = this.queued;
    this.queued = [];
    const per = Math.ceil(jobs.length / this.slots.length);
    const slots = [...this.slots].sort((a, b) => a.busy - b.busy);
    for (let i = 0; i < slots.length && i * per < jobs.length; i++) {
      const part = jobs.slice(i * per, (i + 1) * per);
      const slot = slots[i]!;
      if (slot.busy === 0) slot.worker.ref();
      slot.busy += part.length;
      slot.worker.postMessage(
        part,
        part.flatMap((j) => (j.op === 'write' ? [j.data.buffer as ArrayBuffer] : [])),
      );
    }
  }

  /**
   * Writes `data` to the new file `tmp`. Not yet durable: durable() makes it so. (Without syncfs
   * the file is fdatasynced here already.)
   */
  async write(tmp: string, data: Uint8Array): Promise<void> {
    const syncfs = await (this.syncfs ??= this.flush(this.root));
    // A Buffer is often a view into a larger pooled or socket buffer, which postMessage would
    // clone whole: copy just the bytes into their own buffer and hand that over without a copy.
    await this.submit({ id: ++this.next, op: 'write', tmp, data: new Uint8Array(data), sync: !syncfs }, tmp, syncfs);
  }

  /** Makes every file written so far durable: one syncfs, or nothing when each was fdatasynced. */
  async durable(): Promise<void> {
    if ((await this.syncfs) && !(await this.flush(this.root))) {
      throw ioError('sync', this.root, Object.assign(new Error('sync -f failed'), { code: 'EIO' }));
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const syncfs = await (this.syncfs ??= this.flush(this.root));
    return this.submit({ id: ++this.next, op: 'rename', from, to }, to, syncfs);
  }

  async close(): Promise<void> {
    const slots = this.slots;
    this.slots = [];
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
