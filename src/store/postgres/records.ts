// Email records in the database: written whole as JSON (the columns queries use are generated from
// it), many in one statement; and the email log read back in the order first written.
import type { EmailLog, EmailRecord } from '../types.js';
import { SCHEMA } from './schema.js';
import type { Client, Database, Queryable } from './connection.js';

/**
 * A record as JSON for jsonb. PostgreSQL text cannot hold NUL: a NUL in a header a message carries
 * (its subject, say) becomes U+FFFD in the record; the message's bytes are kept as they are.
 */
export function recordJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' && v.includes('\0') ? v.replaceAll('\0', '\uFFFD') : v));
}

/** Records per statement: one JSON array parameter, expanded by the server. */
const PER_STATEMENT = 2000;

async function inChunks(records: readonly EmailRecord[], write: (json: string) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < records.length; i += PER_STATEMENT) await write(recordJson(records.slice(i, i + PER_STATEMENT)));
}

/** Inserts new records; one already there (same id) is an error, as is a second message of one account and source. */
export function insertRecords(client: Client, records: readonly EmailRecord[]): Promise<void> {
  return inChunks(records, (json) =>
    client.query(`INSERT INTO ${SCHEMA}.emails (id, record) SELECT r ->> 'id', r FROM jsonb_array_elements($1::jsonb) AS r`, [json]),
  );
}

/**
 * Replaces records (their latest version); returns how many were there to replace. `worker`: only
 * those the worker claimed (a message another worker took over after this one was taken for dead is
 * left to it: sending stays at-least-once).
 */
export async function updateRecords(client: Queryable, records: readonly EmailRecord[], worker?: string | null): Promise<number> {
  let count = 0;
  await inChunks(records, async (json) => {
    const result = await client.query(
      `UPDATE ${SCHEMA}.emails AS e SET record = r FROM jsonb_array_elements($1::jsonb) AS r
       WHERE e.id = r ->> 'id' AND ($2::text IS NULL OR e.claimed_by = $2)`,
      [json, worker ?? null],
    );
    count += result.rowCount ?? 0;
  });
  return count;
}

/**
 * One record changed under its row lock (emails retry, a requeue): `change` gets the record as it is
 * (undefined when there is none, for it to refuse) and returns the new version, written in the same
 * transaction.
 */
export function changeRecord(db: Database, id: string, change: (record: EmailRecord | undefined) => EmailRecord): Promise<EmailRecord> {
  return db.transaction(async (client) => {
    const { rows } = await client.query<{ record: EmailRecord }>(`SELECT record FROM ${SCHEMA}.emails WHERE id = $1 FOR UPDATE`, [id]);
    const updated = change(rows[0]?.record);
    await updateRecords(client, [updated]);
    return updated;
  });
}

/** Records read per round trip by scan(): a long log is never held whole. */
const PAGE = 5000;

export class PgEmailLog implements EmailLog {
  constructor(private readonly db: Database) {}

  async readAll(): Promise<Map<string, EmailRecord>> {
    const records = new Map<string, EmailRecord>();
    await this.scan((r) => records.set(r.id, r));
    return records;
  }

  async scan(visit: (record: EmailRecord) => void): Promise<void> {
    let after = 0;
    for (;;) {
      const { rows } = await this.db.query<{ seq: string; record: EmailRecord }>(
        `SELECT seq, record FROM ${SCHEMA}.emails WHERE seq > $1 ORDER BY seq LIMIT ${PAGE}`,
        [after],
      );
      for (const row of rows) visit(row.record);
      if (rows.length < PAGE) return;
      after = Number(rows.at(-1)!.seq);
    }
  }
}
