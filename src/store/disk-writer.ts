// Durable file writes (open, write, fdatasync, close, rename) on a few worker threads. Each write is
// one message to a worker instead of five thread-pool round trips on the main thread, and several
// workers keep several fsyncs in flight at once, which the file system commits together. This is
// where the reader's speed comes from; fsync is never skipped.
import { Worker } from 'node:worker_threads';
import { ioError } from './maildir.js';

// Plain CommonJS evaluated in the worker: no module resolution, so it runs from src/ and dist/ alike.
// Jobs come in batches (one wake-up of the thread per batch, not per file) and are answered per batch.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
function write(job) {
  let fd;
  try {
    fd = fs.openSync(job.tmp, 'wx', 0o600);
    let at = 0;
    while (at < job.data.length) at += fs.writeSync(fd, job.data, at, job.data.length - at);
    fs.fdatasyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(job.tmp, job.target);
    return { id: job.id };
  } catch (err) {
    if (fd !== undefined) try { fs.closeSync(fd); } catch {}
    try { fs.unlinkSync(job.tmp); } catch {}
    return { id: job.id, error: { code: err.code, message: err.message, syscall: err.syscall, path: err.path } };
  }
}
parentPort.on('message', (jobs) => parentPort.postMessage(jobs.map(write)));`;

interface Job {
  id: number;
  tmp: string;
  target: string;
  data: Uint8Array;
}

interface Slot {
  worker: Worker;
  busy: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  target: string;
}

export class DiskWriter {
  private slots: Slot[] = [];
  private readonly waiters = new Map<number, Waiter>();
  private queued: Job[] = [];
  private flushScheduled = false;
  private next = 0;

  constructor(private readonly size = 4) {}

  private start(): void {
    for (let i = 0; i < this.size; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      const slot: Slot = { worker, busy: 0 };
      worker.on('message', (replies: Array<{ id: number; error?: NodeJS.ErrnoException }>) => {
        slot.busy -= replies.length;
        if (slot.busy === 0) worker.unref();
        for (const reply of replies) {
          const waiter = this.waiters.get(reply.id);
          this.waiters.delete(reply.id);
          if (!waiter) continue;
          if (reply.error) waiter.reject(ioError('write', waiter.target, Object.assign(new Error(reply.error.message), reply.error)));
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

  /** Writes `data` to `tmp`, fsyncs it and renames it to `target` (atomic). */
  write(tmp: string, target: string, data: Uint8Array): Promise<void> {
    if (this.slots.length === 0) this.start();
    const id = ++this.next;
    // A Buffer is often a view into a larger pooled or socket buffer, which postMessage would
    // clone whole: copy just the bytes into their own buffer and hand that over without a copy.
    this.queued.push({ id, tmp, target, data: new Uint8Array(data) });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return new Promise<void>((resolve, reject) => this.waiters.set(id, { resolve, reject, target }));
  }

  /** Spreads the queued jobs over the least busy workers, one message each. */
  private flush(): void {
    this.flushScheduled = false;
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
        part.map((j) => j.data.buffer as ArrayBuffer),
      );
    }
  }

  async close(): Promise<void> {
    const slots = this.slots;
    this.slots = [];
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
