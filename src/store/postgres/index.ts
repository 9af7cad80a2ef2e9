// The PostgreSQL store: the same interfaces as the local files, on one database that any number of
// machines share (chosen by MAILBOX_DATABASE_URL or --database). Opening checks the schema: a database
// that `mailbox db migrate` has not brought to this version is refused (78) before anything is read.
// Secrets stay references here, as in config.json: each machine resolves them itself. Any number of
// `mailbox run` share it as a fleet of workers (worker.ts: leases of accounts, claims of outbound mail).
import type { IncomingAccount, StoreOptions, Stores } from '../types.js';
import { PgMail } from './bodies.js';
import { openDatabase, type Database } from './connection.js';
import { PgConfig } from './config.js';
import { PgHandOffs } from './handoffs.js';
import { PgImport } from './import.js';
import { PgIncoming } from './incoming.js';
import { PgQueue } from './queue.js';
import { PgEmailLog } from './records.js';
import { PgRunStatus } from './run-status.js';
import { requireMigrated, SCHEMA, type SchemaState } from './schema.js';
import { OUTBOX_STATES } from '../queue-rules.js';
import { PgSeenState } from './seen.js';
import { settingProblems, settingValue } from './settings.js';
import { fleetSettings, PgWorker } from './worker.js';

export interface PostgresStores extends Stores {
  config: PgConfig;
  incoming: PgIncoming;
  lock: PgWorker;
  db: Database;
  schema: SchemaState;
  /** Takes in another store's contents (migrate-store). */
  importer: PgImport;
}

/** Opens the database store; refuses a database that is not migrated to this version (78). */
export async function openPostgresStores(url: string, options: StoreOptions): Promise<PostgresStores> {
  const db = openDatabase(url);
  let schema: SchemaState;
  try {
    schema = await requireMigrated(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  return storesOn(db, schema, options);
}

export function storesOn(db: Database, schema: SchemaState, options: StoreOptions): PostgresStores {
  const chunk = settingValue(schema.settings, 'body_chunk_bytes');
  const fleet = fleetSettings(schema.settings);
  const lock = new PgWorker(db, { pid: options.pid, clock: options.clock, isAlive: options.isAlive, settings: fleet });
  const seen = new PgSeenState(db, lock);
  const incoming = new PgIncoming(db, seen, chunk, lock);
  return {
    db,
    schema,
    importer: new PgImport(db, chunk),
    config: new PgConfig(db),
    incoming,
    mail: new PgMail(db),
    log: new PgEmailLog(db),
    seen,
    queue: new PgQueue(db, options.clock, chunk, lock, fleet.claimBatch),
    handoffs: new PgHandOffs(db),
    status: new PgRunStatus(db),
    lock,
    async recover(_accounts: readonly IncomingAccount[]): Promise<string[]> {
      // A batch is kept whole or not at all, and a dead worker's claims are due again: what a stop
      // can leave is bodies staged for a batch that never committed, by a worker no longer alive.
      const swept = await incoming.sweep();
      // A setting set out of range by hand is not used (the default is): said at every runner start.
      return [...settingProblems(schema.settings), ...(swept ? [`${swept} message(s) staged by a runner that stopped were removed; they are fetched again`] : [])];
    },
    async prune(ids: readonly string[]): Promise<string[]> {
      if (ids.length === 0) return [];
      // The record and its body in one transaction; queued or in-flight mail never (see prunable()).
      return db.transaction(async (client) => {
        const { rows } = await client.query<{ id: string }>(
          `DELETE FROM ${SCHEMA}.emails WHERE id = ANY($1::text[]) AND NOT (state = ANY($2::text[])) AND NOT in_flight RETURNING id`,
          [[...ids], [...OUTBOX_STATES]],
        );
        const removed = rows.map((r) => r.id);
        if (removed.length) await client.query(`DELETE FROM ${SCHEMA}.bodies WHERE id = ANY($1::text[])`, [removed]);
        return removed;
      });
    },
    async close() {
      lock.abandon();
      await db.close();
    },
  };
}
