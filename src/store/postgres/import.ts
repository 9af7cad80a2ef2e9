// Taking in another store's contents (`mailbox migrate-store`): each group of messages in one
// transaction, a record first (left out when its id, or account and source id, is there already),
// then its body streamed into parts; seen state and status only where the database has none.
import type { ImportedMessage, SeenImport, SeenImported, StoreImport } from '../import.js';
import type { RunStatus } from '../types.js';
import { writeBody } from './bodies.js';
import type { Database } from './connection.js';
import { recordJson } from './records.js';
import { SCHEMA } from './schema.js';

export class PgImport implements StoreImport {
  constructor(
    private readonly db: Database,
    private readonly chunk: number,
  ) {}

  async presentIds(ids: readonly string[]): Promise<Set<string>> {
    const { rows } = await this.db.query<{ id: string }>(`SELECT id FROM ${SCHEMA}.emails WHERE id = ANY($1::text[])`, [[...ids]]);
    return new Set(rows.map((r) => r.id));
  }

  importMessages(messages: readonly ImportedMessage[]): Promise<string[]> {
    return this.db.transaction(async (client) => {
      const kept: string[] = [];
      for (const { record, body } of messages) {
        const { rowCount } = await client.query(`INSERT INTO ${SCHEMA}.emails (id, record) VALUES ($1, $2::jsonb) ON CONFLICT DO NOTHING`, [record.id, recordJson(record)]);
        if (!rowCount) {
          body?.destroy();
          continue;
        }
        if (body) await writeBody(client, record.id, body, this.chunk);
        kept.push(record.id);
      }
      return kept;
    });
  }

  async importSeen(account: string, seen: SeenImport): Promise<SeenImported> {
    const key = account.toLowerCase();
    return this.db.transaction(async (client) => {
      let imap: 'copied' | 'kept' | null = null;
      if (seen.imap) {
        const { rowCount } = await client.query(`INSERT INTO ${SCHEMA}.imap_cursors (account_key, cursor) VALUES ($1, $2::jsonb) ON CONFLICT DO NOTHING`, [key, recordJson(seen.imap)]);
        imap = rowCount ? 'copied' : 'kept';
      }
      let folders = 0;
      for (const { slot, cursor } of seen.imapFolders ?? []) {
        const { rowCount } = await client.query(`INSERT INTO ${SCHEMA}.imap_cursors (account_key, slot, cursor) VALUES ($1, $2, $3::jsonb) ON CONFLICT DO NOTHING`, [key, slot, recordJson(cursor)]);
        folders += rowCount ?? 0;
      }
      let pop3 = 0;
      if (seen.pop3?.length) {
        const { rowCount } = await client.query(
          `INSERT INTO ${SCHEMA}.pop3_seen (account_key, uidl) SELECT $1, u FROM unnest($2::text[]) AS u ON CONFLICT DO NOTHING`,
          [key, seen.pop3],
        );
        pop3 = rowCount ?? 0;
      }
      if (seen.pop3Meta && Object.keys(seen.pop3Meta.tooLarge).length) {
        await client.query(`INSERT INTO ${SCHEMA}.pop3_meta (account_key, meta) VALUES ($1, $2::jsonb) ON CONFLICT DO NOTHING`, [key, recordJson(seen.pop3Meta)]);
      }
      return { imap, folders, pop3 };
    });
  }

  async importStatus(status: RunStatus): Promise<number> {
    const entries = Object.entries(status.accounts);
    if (entries.length === 0) return 0;
    const { rowCount } = await this.db.query(
      `INSERT INTO ${SCHEMA}.run_status (account_key, status) SELECT k, s::jsonb FROM unnest($1::text[], $2::text[]) AS t(k, s) ON CONFLICT DO NOTHING`,
      [entries.map(([key]) => key.toLowerCase()), entries.map(([, entry]) => recordJson(entry))],
    );
    return rowCount ?? 0;
  }
}
