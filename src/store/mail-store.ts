// The local mail store: one Maildir per box (inbox, outbox, sent, failed, skipped) under the mail
// folder. Jobs and commands use the MailStore interface only, so a database could take its place.
//
// File names carry what a crash must not lose: `ID,S=SIZE[,src=ACCOUNT+SOURCE]`, where SOURCE is the
// message's id on its server (IMAP "UIDVALIDITY/UID", POP3 UIDL), URI-encoded. A message stored but
// not yet recorded as seen is recognised by it after a crash (see sourcesIn()).
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { BOXES, type Box } from '../core/email.js';
import { DiskWriter } from './disk-writer.js';
import { HeaderCapture } from './message-headers.js';
import { baseName, ioError, Maildir, newId } from './maildir.js';

export interface SourceRef {
  account: string;
  /** IMAP "UIDVALIDITY/UID", POP3 UIDL. */
  id: string;
}

export interface StoredMessage {
  id: string;
  box: Box;
  /** File name in the box's new/ folder. */
  file: string;
  path: string;
  size: number;
}

/** A message written and fsynced to temporary storage, not yet visible in any box. */
export interface PendingMessage {
  readonly id: string;
  readonly size: number;
  /** The header block (bounded), for the email log and the address filter. */
  readonly header: Buffer;
  /** Moves it into the box's new/ folder (prepare() created the folders). */
  commit(box: Box): Promise<StoredMessage>;
  discard(): Promise<void>;
}

export interface StagedMessage extends StoredMessage {
  tmp: string;
}

export interface WriteOptions {
  /** Where the message comes from (incoming mail): carried in the file name. */
  source?: SourceRef;
  onChunk?: (bytes: number) => void;
  /** The body was read to its end (the fsync may still run): a stream's source may move on. */
  onConsumed?: () => void;
}

export interface StoredFile {
  id: string;
  file: string;
  path: string;
  size: number | null;
  source: SourceRef | null;
}

export interface MailStore {
  prepare(): Promise<void>;
  /** Writes a message (a buffer, or a stream that is never held whole) to temporary storage, fsynced. */
  write(data: Buffer | AsyncIterable<Buffer>, options?: WriteOptions): Promise<PendingMessage>;
  /** Writes a whole message into the box's tmp/ (on a writer thread); publish() makes it durable and visible. */
  stage(data: Buffer, box: Box, source?: SourceRef): Promise<StagedMessage>;
  /** Makes staged messages durable (one flush for all), then moves them into new/ and syncs the folders. */
  publish(staged: StagedMessage[]): Promise<void>;
  /** Makes the commits and moves done so far durable (one directory sync per box touched). */
  sync(): Promise<void>;
  /** Moves a message to another box; `current` is where it is believed to be (saves a lookup). */
  move(file: string, from: Box, to: Box, current?: string): Promise<StoredMessage>;
  /** The current path of a stored file (a mail client may have moved it to cur/). */
  locate(file: string, box: Box): Promise<string | undefined>;
  list(box: Box): Promise<StoredFile[]>;
  read(filePath: string): Readable;
  pathOf(box: Box, file: string): string;
  /** Removes partial files a stop left in a box's staging area, older than `ageMs`. */
  clean(box: Box, ageMs: number): Promise<number>;
}

const SOURCE_LIMIT = 160;

function encodeSource(id: string): string {
  const plain = encodeURIComponent(id);
  return plain.length <= SOURCE_LIMIT ? plain : `~${Buffer.from(id).toString('base64url')}`;
}

function decodeSource(text: string): string {
  return text.startsWith('~') ? Buffer.from(text.slice(1), 'base64url').toString() : decodeURIComponent(text);
}

export function fileName(id: string, size: number, source?: SourceRef): string {
  const src = source ? `,src=${source.account.toLowerCase()}+${encodeSource(source.id)}` : '';
  return `${id},S=${size}${src}`;
}

export function parseFileName(name: string): StoredFile | undefined {
  const base = baseName(name);
  const [id, ...fields] = base.split(',');
  if (!id) return undefined;
  let size: number | null = null;
  let source: SourceRef | null = null;
  for (const field of fields) {
    if (field.startsWith('S=')) size = Number(field.slice(2));
    else if (field.startsWith('src=')) {
      const plus = field.indexOf('+');
      if (plus > 4) {
        try {
          source = { account: field.slice(4, plus), id: decodeSource(field.slice(plus + 1)) };
        } catch {
          source = null;
        }
      }
    }
  }
  return { id, file: base, path: '', size: Number.isFinite(size) ? size : null, source };
}

export class LocalMailStore implements MailStore {
  private readonly boxes: Record<Box, Maildir>;
  private readonly dirty = new Set<Box>();
  private writer: DiskWriter | undefined;

  constructor(readonly root: string) {
    this.boxes = Object.fromEntries(BOXES.map((b) => [b, new Maildir(path.join(root, b))])) as Record<Box, Maildir>;
  }

  async prepare(): Promise<void> {
    for (const box of BOXES) await this.boxes[box].ensure();
  }

  pathOf(box: Box, file: string): string {
    return this.boxes[box].path('new', file);
  }

  async write(data: Buffer | AsyncIterable<Buffer>, options: WriteOptions = {}): Promise<PendingMessage> {
    const { source, onChunk, onConsumed } = options;
    const id = newId();
    const tmpName = `${id}.tmp`;
    const staging = this.boxes[source ? 'inbox' : 'outbox'];
    const capture = new HeaderCapture();
    const size = await staging.writeTmp(
      tmpName,
      data,
      (chunk) => {
        capture.push(chunk);
        onChunk?.(chunk.length);
      },
      onConsumed,
    );
    let settled = false;
    return {
      id,
      size,
      header: capture.buffer(),
      commit: async (box) => {
        settled = true;
        const file = fileName(id, size, source);
        // tmp/ and new/ of different boxes are on one file system: the rename stays atomic.
        const target = this.pathOf(box, file);
        await staging.publishTo(tmpName, target);
        this.dirty.add(box);
        return { id, box, file, path: target, size };
      },
      discard: async () => {
        if (settled) return;
        settled = true;
        await staging.discardTmp(tmpName);
      },
    };
  }

  private diskWriter(): DiskWriter {
    return (this.writer ??= new DiskWriter(this.root));
  }

  async stage(data: Buffer, box: Box, source?: SourceRef): Promise<StagedMessage> {
    const id = newId();
    const file = fileName(id, data.length, source);
    // Staged in the inbox's tmp/ whatever the box: the runner clears that folder when it starts.
    const tmp = this.boxes.inbox.path('tmp', `${id}.tmp`);
    await this.diskWriter().write(tmp, data);
    return { id, box, file, path: this.pathOf(box, file), size: data.length, tmp };
  }

  async publish(staged: StagedMessage[]): Promise<void> {
    if (staged.length === 0) return;
    const writer = this.diskWriter();
    await writer.durable();
    await Promise.all(staged.map((m) => writer.rename(m.tmp, m.path)));
    for (const m of staged) this.dirty.add(m.box);
    await this.sync();
  }

  async sync(): Promise<void> {
    const boxes = [...this.dirty];
    this.dirty.clear();
    await Promise.all(boxes.map((b) => this.boxes[b].sync()));
  }

  async move(file: string, from: Box, to: Box, current?: string): Promise<StoredMessage> {
    const parsed = parseFileName(file)!;
    const target = this.pathOf(to, parsed.file);
    const moved = { id: parsed.id, box: to, file: parsed.file, path: target, size: parsed.size ?? 0 };
    if (current) {
      try {
        await fs.rename(current, target);
        this.dirty.add(to).add(from);
        return moved;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('store', target, err);
      }
    }
    const found = await this.locate(file, from);
    // Not there: already moved (a stop came between the move and its log record).
    if (!found) return moved;
    await this.boxes[from].renameTo(found, target);
    this.dirty.add(to).add(from);
    return moved;
  }

  locate(file: string, box: Box): Promise<string | undefined> {
    return this.boxes[box].locate(baseName(file));
  }

  async list(box: Box): Promise<StoredFile[]> {
    const files: StoredFile[] = [];
    for (const entry of await this.boxes[box].list()) {
      const parsed = parseFileName(entry.name);
      if (parsed) files.push({ ...parsed, path: this.boxes[box].path(entry.sub, entry.name) });
    }
    return files;
  }

  read(filePath: string): Readable {
    return createReadStream(filePath);
  }

  clean(box: Box, ageMs: number): Promise<number> {
    return this.boxes[box].cleanTmp(ageMs);
  }
}
