// The email log as a JSON-lines file: each line the whole record after a change; the last line of an
// id wins. Appends are single O_APPEND writes, so the runner and `mailbox send` can write at the same
// time without a lock; a line torn by a crash is skipped when read and never glued to the next one.
import type fs from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { EmailState } from '../../core/email.js';
import type { EmailLog, EmailRecord } from '../types.js';
import { appendLines, ioError, openState } from './files.js';

/**
 * The state of a line that says a record was removed (retention): the log is append-only, so a removal
 * is one more line, and the last line of an id still wins. Readers of the log never see it as a record.
 */
const PRUNED = 'pruned';

function parseLine(line: string): EmailRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as EmailRecord;
    return typeof value.id === 'string' && typeof value.state === 'string' ? value : undefined;
  } catch {
    return undefined; // a line torn by a crash
  }
}

export interface ReadNewOptions {
  onReset?: () => void;
  /** Only records in these states are visited (parsed); for any other line `passed` gets its id. */
  only?: ReadonlySet<EmailState>;
  passed?: (id: string) => void;
}

/** `{"id":"...","state":"..."` starts every line this log writes: read without parsing the rest. */
const HEAD = /^\{"id":"([^"\\]+)","state":"([a-z-]+)"/;

/** The email log as a JSON-lines file. */
export class FileEmailLog implements EmailLog {
  private offset = 0;
  private inode = -1;

  constructor(readonly file: string) {}

  /** Appends records (one write); durable when it resolves. */
  async append(records: EmailRecord[]): Promise<void> {
    await appendLines(this.file, records.map((r) => JSON.stringify(r)));
  }

  /** Records these ids as removed (their bodies are gone already); durable when it resolves. */
  async appendPruned(ids: readonly string[]): Promise<void> {
    await appendLines(this.file, ids.map((id) => JSON.stringify({ id, state: PRUNED })));
  }

  /** Every record, folded to its latest version, in the order first written. */
  async readAll(): Promise<Map<string, EmailRecord>> {
    const records = new Map<string, EmailRecord>();
    await this.lines((line) => {
      const record = parseLine(line);
      if (!record) return;
      if ((record.state as string) === PRUNED) records.delete(record.id);
      else records.set(record.id, record);
    });
    return records;
  }

  /** Streams every line (oldest first) without holding the log in memory; removal lines are not visited. */
  async scan(visit: (record: EmailRecord) => void): Promise<void> {
    await this.lines((line) => {
      const record = parseLine(line);
      if (record && (record.state as string) !== PRUNED) visit(record);
    });
  }

  /** Messages of `account` that reached `sent` at or after `since` (only such lines are parsed). */
  async sentSince(account: string, since: Date): Promise<number> {
    const name = account.toLowerCase();
    const at = since.toISOString();
    const ids = new Set<string>();
    await this.lines((line) => {
      const head = HEAD.exec(line);
      if (head && head[2] !== 'sent' && head[2] !== PRUNED) return;
      const record = parseLine(line);
      if (!record) return;
      if (record.state === 'sent' && record.updatedAt >= at && record.account?.toLowerCase() === name) ids.add(record.id);
    });
    return ids.size;
  }

  /** The id of every line, read without parsing the records (a long log costs little). */
  async scanIds(visit: (id: string) => void): Promise<void> {
    await this.lines((line) => {
      const id = HEAD.exec(line)?.[1] ?? parseLine(line)?.id;
      if (id !== undefined) visit(id);
    });
  }

  private async lines(visit: (line: string) => void): Promise<void> {
    const handle = await openState(this.file, 'read');
    if (!handle) return;
    const stream = handle.createReadStream({ encoding: 'utf8' });
    try {
      for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) visit(line);
    } catch (err) {
      throw ioError('read', this.file, err);
    } finally {
      stream.destroy();
      await handle.close().catch(() => undefined);
    }
  }

  /**
   * Visits the records written since the previous call (by any process), oldest first, reading in
   * bounded chunks. Returns `reset: true` when it started from the beginning (first call, or the
   * file was replaced), so the caller should drop what it derived before.
   */
  async readNew(visit: (record: EmailRecord) => void, options: ReadNewOptions = {}): Promise<{ reset: boolean }> {
    const { onReset, only, passed } = options;
    // A store holding years of mail has a long log; the queue wants a handful of lines of it.
    const take = (line: string) => {
      const head = only ? HEAD.exec(line) : null;
      if (head && !only!.has(head[2] as EmailState)) return passed?.(head[1]!);
      const record = parseLine(line);
      if (record) visit(record);
    };
    const handle: fs.FileHandle | undefined = await openState(this.file, 'read');
    if (!handle) return { reset: false };
    try {
      const stat = await handle.stat();
      let reset = false;
      if (stat.ino !== this.inode || stat.size < this.offset) {
        this.inode = stat.ino;
        this.offset = 0;
        reset = true;
        onReset?.();
      }
      // Bytes are split at newlines before decoding, so a UTF-8 character never straddles a read.
      const size = 1 << 20;
      let carry = Buffer.alloc(0);
      while (this.offset < stat.size) {
        const chunk = Buffer.alloc(Math.min(size, stat.size - this.offset));
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, this.offset);
        if (bytesRead <= 0) break;
        this.offset += bytesRead;
        const data = carry.length ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
        const lastLf = data.lastIndexOf(0x0a);
        carry = lastLf < 0 ? data : data.subarray(lastLf + 1);
        if (lastLf >= 0) {
          for (const line of data.toString('utf8', 0, lastLf).split('\n')) take(line);
        }
      }
      // A line still being written is read again next time.
      this.offset -= carry.length;
      return { reset };
    } catch (err) {
      throw ioError('read', this.file, err);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }
}
