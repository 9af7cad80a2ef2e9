// Hand-offs of received mail to an account's destination (issue 13) in the database: the state is in
// each record (record.handoff), found through the generated column handoff_state and its index. The
// rules (what is due, what a retry makes of a record) are the ones every store shares.
import { handOffDue, handOffRetried } from '../handoff-rules.js';
import type { EmailRecord, HandOffStore } from '../types.js';
import type { Database } from './connection.js';
import { changeRecord, updateRecords } from './records.js';
import { SCHEMA } from './schema.js';

const OPEN = `handoff_state IS NOT NULL AND handoff_state <> 'delivered'`;

export class PgHandOffs implements HandOffStore {
  constructor(private readonly db: Database) {}

  async due(account: string, now: Date): Promise<EmailRecord[]> {
    const { rows } = await this.db.query<{ record: EmailRecord }>(
      `SELECT record FROM ${SCHEMA}.emails WHERE account_key = lower($1) AND ${OPEN} AND handoff_state = 'pending' ORDER BY seq`,
      [account],
    );
    return rows.map((r) => r.record).filter((r) => handOffDue(r, now));
  }

  async undelivered(account: string): Promise<Set<string>> {
    const { rows } = await this.db.query<{ source: string }>(
      `SELECT source FROM ${SCHEMA}.emails WHERE account_key = lower($1) AND ${OPEN} AND source IS NOT NULL`,
      [account],
    );
    return new Set(rows.map((r) => r.source));
  }

  async settle(records: readonly EmailRecord[]): Promise<void> {
    if (records.length === 0) return;
    // The box is the record's state here (no files to move): one write of the records is all.
    await this.db.transaction((client) => updateRecords(client, records));
  }

  retry(id: string, now: Date): Promise<EmailRecord> {
    return changeRecord(this.db, id, (record) => handOffRetried(record, id, now));
  }

  async counts(): Promise<Record<string, { pending: number; failed: number }>> {
    const { rows } = await this.db.query<{ account_key: string; failed: boolean; n: string }>(
      `SELECT account_key, handoff_state = 'failed' AS failed, count(*) AS n FROM ${SCHEMA}.emails
       WHERE ${OPEN} AND account_key IS NOT NULL GROUP BY 1, 2`,
    );
    const counts: Record<string, { pending: number; failed: number }> = {};
    for (const row of rows) {
      const c = (counts[row.account_key] ??= { pending: 0, failed: 0 });
      if (row.failed) c.failed += Number(row.n);
      else c.pending += Number(row.n);
    }
    return counts;
  }
}
