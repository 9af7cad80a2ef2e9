// What `mailbox db` does with a database that may not be migrated yet: bring its schema up to date,
// and tell its state (server, schema version, workers, settings).
import { openDatabase, type Database, type DatabaseName } from './connection.js';
import type { WorkerView } from '../types.js';
import { fleetView } from './worker.js';
import { appliedMigrations, latestVersion, migrate, migrations, requireMigrated, SCHEMA, type AppliedMigration, type MigrateResult } from './schema.js';
import { checkSetting, setSetting, settingProblems, settingValue, STORE_SETTINGS, type StoreSettingName } from './settings.js';

async function withDatabase<T>(url: string, work: (db: Database) => Promise<T>): Promise<T> {
  const db = openDatabase(url, { max: 2 });
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

export async function migrateDatabase(url: string): Promise<MigrateResult & { database: DatabaseName }> {
  return withDatabase(url, async (db) => ({ database: db.name, ...(await migrate(db)) }));
}

export interface DatabaseStatus {
  database: DatabaseName;
  server: { version: string };
  schema: { version: number; latest: number; pending: Array<{ version: number; name: string }>; applied: AppliedMigration[] };
  /** The oldest live worker (the one runner of a database before fleets). */
  runner: { running: boolean; pid: number | null; host: string | null; startedAt: string | null };
  /** The workers, alive or dead within the day, each with how many account leases it holds. */
  workers: Array<WorkerView & { accounts: number }>;
  /** `inEffect`: the value used (the default when the stored one is out of range); `problem`: why not. */
  settings: Array<{ name: string; value: unknown; inEffect: unknown; description: string; problem: string | null }>;
}

export async function databaseStatus(url: string): Promise<DatabaseStatus> {
  return withDatabase(url, async (db) => {
    const client = await db.connect();
    let server: string;
    try {
      server = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
    } finally {
      client.release();
    }
    const applied = await appliedMigrations(db);
    const version = applied.at(-1)?.version ?? 0;
    const done = new Set(applied.map((m) => m.version));
    const pending = migrations().filter((m) => !done.has(m.version)).map((m) => ({ version: m.version, name: m.name }));
    const migrated = version > 0 && pending.length === 0;
    const fleet = migrated ? await fleetView(db) : { workers: [], holders: {} };
    const holds = Object.values(fleet.holders);
    const workers = fleet.workers.map((w) => ({ ...w, accounts: holds.filter((id) => id === w.id).length }));
    const holder = workers.find((w) => w.alive);
    const rows = migrated
      ? (await db.query<{ name: string; value: unknown; description: string }>(`SELECT name, value, description FROM ${SCHEMA}.settings ORDER BY name`)).rows
      : [];
    const stored = Object.fromEntries(rows.map((r) => [r.name, r.value]));
    const settings = rows.map((r) => {
      const known = r.name in STORE_SETTINGS;
      const inEffect = known ? settingValue(stored, r.name as StoreSettingName) : r.value;
      const problem = known ? (settingProblems({ [r.name]: r.value })[0] ?? null) : null;
      return { ...r, inEffect, problem };
    });
    return {
      database: db.name,
      server: { version: server },
      schema: { version, latest: latestVersion(), pending, applied },
      runner: { running: Boolean(holder), pid: holder?.pid ?? null, host: holder?.host ?? null, startedAt: holder?.startedAt ?? null },
      workers,
      settings,
    };
  });
}

/** `mailbox db set NAME VALUE`: checked (65), on a migrated database (78); returns the value it had. */
export async function setDatabaseSetting(url: string, name: string, value: string): Promise<{ database: DatabaseName; name: StoreSettingName; value: number; previous: unknown }> {
  const checked = checkSetting(name, value);
  return withDatabase(url, async (db) => {
    await requireMigrated(db);
    const previous = await setSetting(db, checked.name, checked.value);
    return { database: db.name, ...checked, previous };
  });
}
