// What `mailbox status` shows, a row per account. save() writes only the accounts whose entry changed
// since this process last read or wrote them, so a runner never puts back an older entry of an account
// it did not touch (several runners share a database in a fleet). The runner's heartbeat, the last
// prune and the push states are one row beside them; a worker writes and removes only the push
// entries of the accounts it watches, so workers never wipe each other's.
import type { CycleStatus, PushStatus, RunnerBeat, RunStatus, RunStatusStore } from '../types.js';
import type { Database } from './connection.js';
import { recordJson } from './records.js';
import { SCHEMA } from './schema.js';

export class PgRunStatus implements RunStatusStore {
  /** Each account's entry as last read or written here. */
  private readonly known = new Map<string, string>();
  /** The heartbeat and last prune as last read or written here. */
  private knownRunner: string | undefined;
  /** The push entries this process wrote (by lower-cased account), as written. */
  private readonly ownPush = new Map<string, string>();

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
    const watched = push && Object.keys(push).length > 0 ? { push } : {};
    const loaded: RunStatus = { accounts, ...(runner ? { runner } : {}), ...(prunedAt ? { prunedAt } : {}), ...watched };
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
    const now = new Map(Object.entries(status.push ?? {}).map(([key, entry]) => [key.toLowerCase(), recordJson(entry)]));
    const changed = [...now].filter(([key, entry]) => this.ownPush.get(key) !== entry);
    const removed = [...this.ownPush.keys()].filter((key) => !now.has(key));
    if (json === this.knownRunner && changed.length === 0 && removed.length === 0) return;
    await this.db.query(
      `INSERT INTO ${SCHEMA}.runner_status (id, runner, pruned_at, push) VALUES (1, $1::jsonb, $2, NULL)
       ON CONFLICT (id) DO NOTHING`,
      [status.runner ? recordJson(status.runner) : null, status.prunedAt ?? null],
    );
    await this.db.query(
      `UPDATE ${SCHEMA}.runner_status SET runner = coalesce($1::jsonb, runner), pruned_at = coalesce($2, pruned_at),
         push = nullif((coalesce(push, '{}'::jsonb) - $3::text[]) || $4::jsonb, '{}'::jsonb)
       WHERE id = 1`,
      [status.runner ? recordJson(status.runner) : null, status.prunedAt ?? null, removed, `{${changed.map(([key, entry]) => `${JSON.stringify(key)}:${entry}`).join(',')}}`],
    );
    this.knownRunner = json;
    for (const key of removed) this.ownPush.delete(key);
    for (const [key, entry] of changed) this.ownPush.set(key, entry);
  }
}

function runnerJson(status: RunStatus): string {
  return JSON.stringify([status.runner ?? null, status.prunedAt ?? null]);
}
