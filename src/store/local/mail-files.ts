// The message files: one Maildir per box (inbox, outbox, sent, failed, skipped) under the mail folder,
// named as file-names.ts says. Only the local store uses this; everything above it sees the store
// interfaces.
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { BOXES, boxOf, type Box } from '../../core/email.js';
import { newId } from '../ids.js';
import { HeaderCapture, headerEnd, MAX_HEADER_BYTES } from '../message-headers.js';
import type { MailStore, MessageData, MessageRef, SourceRef } from '../types.js';
import { DiskWriter } from './disk-writer.js';
import { ioError } from './files.js';
import { fileName, parseFileName, sourceOf, type StoredFile } from './file-names.js';
import { baseName, Maildir } from './maildir.js';

/** A stored message that names its source, as listed (its file name not yet parsed further). */
export interface IncomingEntry {
  box: Box;
  sub: 'new' | 'cur';
  name: string;
  source: SourceRef;
}

/** A message in a box's tmp/: not visible until published. */
export interface TmpFile {
  readonly id: string;
  readonly size: number;
  readonly file: string;
  readonly tmp: string;
  /** Written by a writer thread without its own fsync: publish() makes it durable first. */
  readonly pooled: boolean;
  /** The header block (bounded), for messages written from a stream. */
  readonly header: Buffer;
}

/** The header block at the start of a message file (bounded); throws when the file cannot be read. */
export async function readHead(file: string): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(MAX_HEADER_BYTES);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    const end = headerEnd(buf.subarray(0, bytesRead));
    return Buffer.from(buf.subarray(0, end >= 0 ? end : bytesRead));
  } finally {
    await handle.close();
  }
}

/** Messages up to this size are read whole before sending; larger ones are streamed from their file. */
const READ_WHOLE = 1024 * 1024;

/**
 * Who writes into tmp/: each file there is named ID.TAG.tmp after its writer, so that the file of a
 * writer that was killed (a `mailbox send` stopped mid-message) is recognised at once, whatever its age.
 */
export interface TmpWriter {
  /** This process, as file names carry it (see processes.ts). */
  tag(): Promise<string>;
  /** Whether the writer a tag names still runs; `writtenAt` (ms) is when the file was last written. */
  alive(tag: string, writtenAt: number): Promise<boolean>;
}

/** Files without a writer's tag (written by an older mailbox) are orphans once this old. */
const UNTAGGED_TMP_AGE_MS = 3_600_000;

/** A file in a box's tmp/: the message it is to become, and whether its writer is gone. */
export interface TmpEntry {
  id: string;
  path: string;
  writerGone: boolean;
}

function tmpName(id: string, tag: string): string {
  return tag ? `${id}.${tag}.tmp` : `${id}.tmp`;
}

function parseTmpName(name: string): { id: string; tag: string | null } | undefined {
  const m = /^([^.]+)(?:\.([^.]+))?\.tmp$/.exec(name);
  return m ? { id: m[1]!, tag: m[2] ?? null } : undefined;
}

export class MailFiles implements MailStore {
  private readonly boxes: Record<Box, Maildir>;
  private readonly dirty = new Set<Box>();
  private writer: DiskWriter | undefined;
  private prepared: Promise<void> | undefined;

  constructor(
    readonly root: string,
    private readonly tmpWriter?: TmpWriter,
  ) {
    this.boxes = Object.fromEntries(BOXES.map((b) => [b, new Maildir(path.join(root, b))])) as Record<Box, Maildir>;
  }

  /** Creates the boxes (once). */
  prepare(): Promise<void> {
    return (this.prepared ??= (async () => {
      for (const box of BOXES) await this.boxes[box].ensure();
    })().catch((err) => {
      this.prepared = undefined;
      throw err;
    }));
  }

  /** Where a message of `box` goes (its new/ folder). */
  pathOf(box: Box, file: string): string {
    return this.boxes[box].path('new', file);
  }

  /**
   * Writes a message into `box`'s tmp/. With `batch` (a buffer), on a writer thread, made durable
   * by publish() with one flush for the whole batch; otherwise here, fdatasynced, a stream never
   * held whole.
   */
  async writeTmp(data: MessageData, box: Box, options: { source?: SourceRef; batch?: boolean } = {}): Promise<TmpFile> {
    await this.prepare();
    const id = newId();
    const name = tmpName(id, (await this.tmpWriter?.tag()) ?? '');
    const tmp = this.boxes[box].path('tmp', name);
    if (options.batch && Buffer.isBuffer(data)) {
      await this.diskWriter().write(tmp, data);
      return { id, size: data.length, file: fileName(id, data.length, options.source), tmp, pooled: true, header: Buffer.alloc(0) };
    }
    const capture = new HeaderCapture();
    const size = await this.boxes[box].writeTmp(name, data, (chunk) => capture.push(chunk));
    return { id, size, file: fileName(id, size, options.source), tmp, pooled: false, header: capture.buffer() };
  }

  private diskWriter(): DiskWriter {
    return (this.writer ??= new DiskWriter(this.root));
  }

  /**
   * Moves messages from tmp/ into their boxes' new/, durably: one flush for those written on writer
   * threads first, then the renames, then one fsync per box folder. Nothing is visible before its
   * bytes are on disk.
   */
  async publish(items: ReadonlyArray<{ tmp: TmpFile; box: Box }>): Promise<void> {
    if (items.length === 0) return;
    const pooled = items.some((i) => i.tmp.pooled);
    if (pooled) await this.diskWriter().durable();
    const rename = async (from: string, to: string) => {
      // A batch renames on the writer thread too; a single message (a large one, one queued) here.
      if (pooled) return this.diskWriter().rename(from, to);
      await fs.rename(from, to).catch((err) => {
        throw ioError('store', to, err);
      });
    };
    await Promise.all(items.map((i) => rename(i.tmp.tmp, this.pathOf(i.box, i.tmp.file))));
    for (const i of items) this.dirty.add(i.box);
    await this.sync();
  }

  /** Takes back a publish (the batch could not be recorded): the files leave the boxes again. */
  async unpublish(items: ReadonlyArray<{ tmp: TmpFile; box: Box }>): Promise<void> {
    await Promise.all(items.map((i) => fs.unlink(this.pathOf(i.box, i.tmp.file)).catch(() => undefined)));
  }

  async discard(tmp: TmpFile): Promise<void> {
    await fs.unlink(tmp.tmp).catch(() => undefined);
  }

  /** Makes the moves done so far durable (one directory sync per box touched). */
  async sync(): Promise<void> {
    const boxes = [...this.dirty];
    this.dirty.clear();
    await Promise.all(boxes.map((b) => this.boxes[b].sync()));
  }

  /** Moves a message to another box (not yet durable: sync()); `current` is where it is believed to be. */
  async move(file: string, from: Box, to: Box, current?: string): Promise<void> {
    const target = this.pathOf(to, baseName(file));
    if (current) {
      try {
        await fs.rename(current, target);
        this.dirty.add(to).add(from);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('store', target, err);
      }
    }
    const found = await this.locate(file, from);
    // Not there: already moved (a stop came between the move and its log record).
    if (!found) return;
    await this.boxes[from].renameTo(found, target);
    this.dirty.add(to).add(from);
  }

  /** Removes a message's file for good (retention), durably; false when it was not there. */
  async remove(file: string, box: Box): Promise<boolean> {
    const found = await this.locate(file, box);
    if (!found) return false;
    await fs.unlink(found).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw ioError('remove', found, err);
    });
    this.dirty.add(box);
    return true;
  }

  /** Where a message of `box` is now (a mail client may have moved it to cur/ and added flags). */
  locate(file: string, box: Box): Promise<string | undefined> {
    return this.boxes[box].locate(baseName(file));
  }

  /** Every message of `box` that names its source, from the file names alone. */
  async sources(box: Box): Promise<IncomingEntry[]> {
    const found: IncomingEntry[] = [];
    for (const entry of await this.boxes[box].list()) {
      const source = sourceOf(entry.name);
      if (source) found.push({ box, sub: entry.sub, name: entry.name, source });
    }
    return found;
  }

  /** The file of an entry of sources(). */
  fileOf(entry: IncomingEntry): StoredFile {
    return { ...parseFileName(entry.name)!, path: this.boxes[entry.box].path(entry.sub, entry.name) };
  }

  async list(box: Box): Promise<StoredFile[]> {
    const files: StoredFile[] = [];
    for (const entry of await this.boxes[box].list()) {
      const parsed = parseFileName(entry.name);
      if (parsed) files.push({ ...parsed, path: this.boxes[box].path(entry.sub, entry.name) });
    }
    return files;
  }

  /** The files in `box`'s tmp/, each with whether its writer is gone (killed before it published it). */
  async tmpEntries(box: Box, now = Date.now()): Promise<TmpEntry[]> {
    const found: TmpEntry[] = [];
    for (const file of await this.boxes[box].tmpFiles()) {
      const parsed = parseTmpName(file.name);
      const writerGone = parsed?.tag && this.tmpWriter ? !(await this.tmpWriter.alive(parsed.tag, file.mtimeMs)) : now - file.mtimeMs > UNTAGGED_TMP_AGE_MS;
      found.push({ id: parsed?.id ?? file.name, path: file.path, writerGone });
    }
    return found;
  }

  /** Finishes the publish a stop interrupted: an orphan of tmp/ into new/FILE. False when it is gone. */
  async publishOrphan(box: Box, orphan: TmpEntry, file: string): Promise<boolean> {
    try {
      await fs.rename(orphan.path, this.pathOf(box, file));
    } catch {
      return false;
    }
    this.dirty.add(box);
    await this.sync();
    return true;
  }

  async removeOrphan(orphan: TmpEntry): Promise<void> {
    await fs.unlink(orphan.path).catch(() => undefined);
  }

  /** A message file's content as the sender hands it on: whole when small, streamed when large. */
  async content(file: string, size: number): Promise<Buffer | Readable> {
    return size <= READ_WHOLE ? fs.readFile(file) : createReadStream(file);
  }

  /** Removes every file in `box`'s tmp/: for a folder only the caller writes in. */
  clearTmp(box: Box): Promise<void> {
    return this.boxes[box].clearTmp();
  }

  async filePath(message: MessageRef): Promise<string | null> {
    const found = await this.locate(message.file, boxOf(message));
    if (found) return found;
    // A received message between the inbox and failed (its hand-off failed, or is retried): a stop
    // came between the move and its record.
    const other = message.state === 'received' ? 'failed' : message.state === 'delivery-failed' ? 'inbox' : undefined;
    return (other && (await this.locate(message.file, other))) || null;
  }

  async head(message: MessageRef): Promise<Buffer | null> {
    const file = await this.filePath(message);
    return file ? readHead(file).catch(() => null) : null;
  }

  async read(message: MessageRef): Promise<Readable | null> {
    const file = await this.filePath(message);
    // Opened now, so that a file gone since it was listed is "missing", not a stream error later.
    const handle = file ? await fs.open(file, 'r').catch(() => null) : null;
    return handle ? handle.createReadStream() : null;
  }

  async close(): Promise<void> {
    await this.writer?.close();
  }
}
