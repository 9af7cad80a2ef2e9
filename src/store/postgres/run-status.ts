// What `mailbox status` shows, a row per account. save() writes only the accounts whose entry changed
// since this process last read or wrote them, so a runner never puts back an older entry of an account
// it did not touch (several runners share a database in a fleet). The runner's heartbeat, the last
// prune and the push states are one row beside them.
import type { CycleStatus, PushStatus, RunnerBeat, RunStatus, RunStatusStore } from '../types.js';
import type { Database } from './connection.js';
import { recordJson } from './records.js';
import { SCHEMA } from './schema.js';

export class PgRunStatus implements RunStatusStore {
  /** Each account's entry as last read or written here. */
  private readonly known = new Map<string, string>();
  /** The runner row as last read or written here. */
  private knownRunner: string | undefined;

  constructor(private readonly db: Database) {}

  async load(): Promise<RunStatus> {
    const { rows } = await this.db.query<{ account_key: string; status: CycleStatus }>(`SELECT account_key, status FROM ${SCHEMA}.run_status`);
    const accounts: Record<string, CycleStatus> = {};
    for (const row of rows) {
      accounts[row.account_key] = row.status;
      this.known.set(row.account_key, recordJson(row.status));
    }
    const runnerRow = await this.db.query<{ runner: RunnerBeat | null; pruned_at: string | null; push: Record<string, PushStatus> | null }>(
      `SELECT runner, pruned_at, push FROM ${SCHEMA}.runner_status WHERE id = 1`,
    );
    const { runner, pruned_at: prunedAt, push } = runnerRow.rows[0] ?? { runner: null, pruned_at: null, push: null };
    const loaded: RunStatus = { accounts, ...(runner ? { runner } : {}), ...(prunedAt ? { prunedAt } : {}), ...(push ? { push } : {}) };
    this.knownRunner = runnerJson(loaded);
    return loaded;
  }

  async save(status: RunStatus): Promise<void> {
    await this.saveRunner(status);
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

  private async saveRunner(status: RunStatus): Promise<void> {
    const json = runnerJson(status);
    if (json === this.knownRunner) return;
    // The push map is written whole (an account no longer watched is gone from it; none when the runner stopped).
    await this.db.query(
      `INSERT INTO ${SCHEMA}.runner_status (id, runner, pruned_at, push) VALUES (1, $1::jsonb, $2, $3::jsonb)
       ON CONFLICT (id) DO UPDATE SET runner = coalesce(EXCLUDED.runner, runner_status.runner),
         pruned_at = coalesce(EXCLUDED.pruned_at, runner_status.pruned_at), push = EXCLUDED.push`,
      [status.runner ? recordJson(status.runner) : null, status.prunedAt ?? null, status.push ? recordJson(status.push) : null],
    );
    this.knownRunner = json;
  }
}

function runnerJson(status: RunStatus): string {
  return JSON.stringify([status.runner ?? null, status.prunedAt ?? null, status.push ?? null]);
}
