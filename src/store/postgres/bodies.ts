// Message bodies as bytea, byte for byte, in parts of `chunk` bytes (part 0, 1, ...): written as they
// arrive and read a part at a time, so a message of any size passes through with flat memory. A body
// always has a part 0 (empty for an empty message), by which it is known to exist.
import { Readable } from 'node:stream';
import { HeaderCapture, headerEnd, MAX_HEADER_BYTES } from '../message-headers.js';
import type { MailStore, MessageData, MessageRef } from '../types.js';
import type { Client, Database, Queryable } from './connection.js';
import { SCHEMA } from './schema.js';

export const DEFAULT_CHUNK = 1024 * 1024;

/** Rows and bytes per INSERT of many small bodies. */
const ROWS_PER_INSERT = 500;
const BYTES_PER_INSERT = 16 * 1024 * 1024;

/** Splits a body held whole into its parts (views, no copies). */
function partsOf(data: Buffer, chunk: number): Buffer[] {
  if (data.length <= chunk) return [data];
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunk) parts.push(data.subarray(at, at + chunk));
  return parts;
}

/** Writes bodies held whole, many per statement (the parameters travel binary). */
export async function insertBodies(client: Client, bodies: ReadonlyArray<{ id: string; data: Buffer }>, chunk: number): Promise<void> {
  let rows: Array<[string, number, Buffer]> = [];
  let bytes = 0;
  const flush = async () => {
    if (rows.length === 0) return;
    const values = rows.map((_, i) => `($${i * 3 + 1}, $${i * 3 + 2}, $${i * 3 + 3})`).join(', ');
    await client.query(`INSERT INTO ${SCHEMA}.bodies (id, part, data) VALUES ${values}`, rows.flat());
    rows = [];
    bytes = 0;
  };
  for (const { id, data } of bodies) {
    for (const [part, piece] of partsOf(data, chunk).entries()) {
      if (rows.length >= ROWS_PER_INSERT || (rows.length > 0 && bytes + piece.length > BYTES_PER_INSERT)) await flush();
      rows.push([id, part, piece]);
      bytes += piece.length;
    }
  }
  await flush();
}

export interface WrittenBody {
  size: number;
  /** The header block (bounded), captured on the way. */
  header: Buffer;
}

/** Writes a body as it arrives, a part at a time (never more than one part held). */
export async function writeBody(client: Client, id: string, data: MessageData, chunk: number): Promise<WrittenBody> {
  const capture = new HeaderCapture();
  if (Buffer.isBuffer(data)) {
    capture.push(data);
    await insertBodies(client, [{ id, data }], chunk);
    return { size: data.length, header: capture.buffer() };
  }
  let part = 0;
  let size = 0;
  let held: Buffer[] = [];
  let heldBytes = 0;
  const write = async (piece: Buffer) => {
    await client.query(`INSERT INTO ${SCHEMA}.bodies (id, part, data) VALUES ($1, $2, $3)`, [id, part++, piece]);
  };
  for await (const raw of data) {
    const incoming = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as Uint8Array);
    capture.push(incoming);
    size += incoming.length;
    held.push(incoming);
    heldBytes += incoming.length;
    while (heldBytes >= chunk) {
      const all = held.length === 1 ? held[0]! : Buffer.concat(held);
      await write(all.subarray(0, chunk));
      const rest = all.subarray(chunk);
      held = rest.length ? [rest] : [];
      heldBytes = rest.length;
    }
  }
  if (heldBytes > 0 || part === 0) await write(held.length === 1 ? held[0]! : Buffer.concat(held));
  return { size, header: capture.buffer() };
}

/** Deletes bodies that no email row names (staged, never committed); those kept are left alone. */
export async function deleteUnrecorded(db: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `WITH gone AS (DELETE FROM ${SCHEMA}.staged WHERE id = ANY($1::text[]))
     DELETE FROM ${SCHEMA}.bodies b WHERE b.id = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM ${SCHEMA}.emails e WHERE e.id = b.id)`,
    [ids],
  );
}

/** A body part by part, each read when the reader wants it. */
async function* parts(db: Database, id: string): AsyncGenerator<Buffer> {
  for (let part = 0; ; part++) {
    const { rows } = await db.query<{ data: Buffer }>(`SELECT data FROM ${SCHEMA}.bodies WHERE id = $1 AND part = $2`, [id, part]);
    if (rows.length === 0) return;
    yield rows[0]!.data;
  }
}

/** The whole body of a small message in one round trip (null when there is none). */
export async function readWhole(db: Database, id: string): Promise<Buffer | null> {
  const { rows } = await db.query<{ data: Buffer }>(`SELECT data FROM ${SCHEMA}.bodies WHERE id = $1 ORDER BY part`, [id]);
  if (rows.length === 0) return null;
  return rows.length === 1 ? rows[0]!.data : Buffer.concat(rows.map((r) => r.data));
}

/** A body as a stream, read a part at a time; null when the message has no body. */
export async function openBody(db: Database, id: string): Promise<Readable | null> {
  const reader = parts(db, id);
  const first = await reader.next();
  if (first.done) return null;
  return Readable.from(
    (async function* () {
      yield first.value;
      yield* reader;
    })(),
  );
}

/** Stored messages as people and tools see them: no file, the bytes from the database. */
export class PgMail implements MailStore {
  constructor(private readonly db: Database) {}

  async filePath(): Promise<string | null> {
    return null; // nothing here is a file: `mailbox emails export --maildir` writes files
  }

  async head(message: MessageRef): Promise<Buffer | null> {
    const { rows } = await this.db.query<{ head: Buffer }>(
      `SELECT substring(data FROM 1 FOR ${MAX_HEADER_BYTES}) AS head FROM ${SCHEMA}.bodies WHERE id = $1 AND part = 0`,
      [message.id],
    );
    if (rows.length === 0) return null;
    const head = rows[0]!.head;
    const end = headerEnd(head);
    return end >= 0 ? head.subarray(0, end) : head;
  }

  read(message: MessageRef): Promise<Readable | null> {
    return openBody(this.db, message.id);
  }
}
