// What `mailbox status` shows, a row per account. save() writes only the accounts whose entry changed
// since this process last read or wrote them, so a runner never puts back an older entry of an account
// it did not touch (several runners share a database in a fleet).
import type { CycleStatus, RunStatus, RunStatusStore } from '../types.js';
import type { Database } from './connection.js';
import { recordJson } from './records.js';
import { SCHEMA } from './schema.js';

export class PgRunStatus implements RunStatusStore {
  /** Each account's entry as last read or written here. */
  private readonly known = new Map<string, string>();

  constructor(private readonly db: Database) {}

  async load(): Promise<RunStatus> {
    const { rows } = await this.db.query<{ account_key: string; status: CycleStatus }>(`SELECT account_key, status FROM ${SCHEMA}.run_status`);
    const accounts: Record<string, CycleStatus> = {};
    for (const row of rows) {
      accounts[row.account_key] = row.status;
      this.known.set(row.account_key, recordJson(row.status));
    }
    return { accounts };
  }

  async save(status: RunStatus): Promise<void> {
    const changed = Object.entries(status.accounts)
      .map(([key, entry]) => [key.toLowerCase(), recordJson(entry)] as const)
      .filter(([key, json]) => this.known.get(key) !== json);
    if (changed.length === 0) return;
    await this.db.query(
      `INSERT INTO ${SCHEMA}.run_status (account_key, status)
       SELECT k, s::jsonb FROM unnest($1::text[], $2::text[]) AS t(k, s)
       ON CONFLICT (account_key) DO UPDATE SET status = EXCLUDED.status`,
      [changed.map(([key]) => key), changed.map(([, json]) => json)],
    );
    for (const [key, json] of changed) this.known.set(key, json);
  }
}
