// The schema's versions: SQL files in migrations/ (NNNN_name.sql), applied in order by `mailbox db
// migrate`, each in its own transaction with its version recorded. Several machines may migrate at
// once: an advisory lock lets one apply while the others wait and then find nothing left to do.
// Hand-written rather than a migration library: forty lines on node-postgres, no second driver.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MailboxError } from '../../core/errors.js';
import { isConnectionLoss, queryError, type Client, type Database, type Queryable } from './connection.js';

export const SCHEMA = 'mailbox';

/** Advisory lock keys (two int4): mailbox's class, then what is locked. */
export const LOCK_CLASS = 0x6d626f78; // "mbox"
export const LOCKS = { migrate: 1, config: 2, run: 3 } as const;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/**
 * The migrations folder: beside this module in src/ and in the per-module build, copied next to the
 * bundle's dist/store/postgres by the build; found by walking up from wherever this code runs.
 */
function migrationsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  // (The benchmark's build of src/ under bench/build finds the repository's src/ this way.)
  for (let i = 0; i < 6; i++) {
    for (const candidate of [path.join(dir, 'migrations'), path.join(dir, 'store', 'postgres', 'migrations'), path.join(dir, 'src', 'store', 'postgres', 'migrations')]) {
      if (existsSync(path.join(candidate, '0001_store.sql'))) return candidate;
    }
    dir = path.dirname(dir);
  }
  throw new MailboxError('EINTERNAL', 'the database migrations are missing from this installation of mailbox', { hint: 'reinstall mailbox' });
}

let loaded: Migration[] | undefined;

export function migrations(): Migration[] {
  if (loaded) return loaded;
  const dir = migrationsDir();
  loaded = readdirSync(dir)
    .map((file) => /^(\d{4})_([a-z0-9_-]+)\.sql$/.exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => {
      const sql = readFileSync(path.join(dir, m[0]), 'utf8');
      return { version: Number(m[1]), name: m[2]!, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    })
    .sort((a, b) => a.version - b.version);
  return loaded;
}

export function latestVersion(): number {
  return migrations().at(-1)?.version ?? 0;
}

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
  appliedAt: string;
}

/** The migrations applied so far; none when the schema does not exist yet. */
export async function appliedMigrations(client: Queryable): Promise<AppliedMigration[]> {
  try {
    const { rows } = await client.query<{ version: number; name: string; checksum: string; applied_at: Date }>(
      `SELECT version, name, checksum, applied_at FROM ${SCHEMA}.schema_migrations ORDER BY version`,
    );
    return rows.map((r) => ({ version: r.version, name: r.name, checksum: r.checksum, appliedAt: r.applied_at.toISOString() }));
  } catch (err) {
    if (isMissingSchema(err)) return [];
    throw err;
  }
}

/** The schema or its tables are not there (never migrated). */
export function isMissingSchema(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } } | undefined;
  const code = e instanceof MailboxError ? e.cause?.code : e?.code;
  return code === '3F000' || code === '42P01';
}

export interface MigrateResult {
  /** Versions applied now (empty: the schema was up to date). */
  applied: Array<{ version: number; name: string }>;
  version: number;
}

/** Brings the schema up to the latest version; idempotent, and safe from several machines at once. */
export async function migrate(db: Database): Promise<MigrateResult> {
  const client = await db.connect();
  let broken: unknown;
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [LOCK_CLASS, LOCKS.migrate]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${SCHEMA}.schema_migrations (
           version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const done = new Map((await appliedMigrations(client)).map((m) => [m.version, m]));
      checkKnown(done, db);
      const applied: MigrateResult['applied'] = [];
      for (const m of migrations()) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query(`INSERT INTO ${SCHEMA}.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`, [m.version, m.name, m.checksum]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new MailboxError(queryError(err, db.name).code, `migration ${m.version} (${m.name}) failed, nothing of it was applied: ${(err as Error).message}`, { cause: err });
        }
        applied.push({ version: m.version, name: m.name });
      }
      return { applied, version: latestVersion() };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, LOCKS.migrate]).catch((err) => (broken = err));
    }
  } catch (err) {
    if (isConnectionLoss(err)) broken = err;
    throw queryError(err, db.name);
  } finally {
    client.release(broken as Error | undefined);
  }
}

/** Applied migrations this mailbox does not have, or whose text differs, mean another version wrote the schema. */
function checkKnown(done: Map<number, AppliedMigration>, db: Database): void {
  const known = new Map(migrations().map((m) => [m.version, m]));
  for (const applied of done.values()) {
    const mine = known.get(applied.version);
    if (!mine) {
      throw new MailboxError('ECONFIG', `database ${db.name.shown} has schema version ${applied.version}, newer than this mailbox knows (${latestVersion()})`, {
        hint: 'upgrade mailbox on this machine',
      });
    }
    if (mine.checksum !== applied.checksum) {
      throw new MailboxError('ECONFIG', `database ${db.name.shown}: migration ${applied.version} (${applied.name}) was applied from a different text than this mailbox has`, {
        hint: 'use the same mailbox version on every machine of this database',
      });
    }
  }
}

export interface SchemaState {
  version: number;
  settings: Record<string, unknown>;
}

/**
 * The schema version and settings, checked before a command works with the database: not migrated
 * (or migrated by an older mailbox) is a configuration error naming `mailbox db migrate`; a newer
 * schema asks for a newer mailbox.
 */
export async function requireMigrated(db: Database): Promise<SchemaState> {
  let row: { version: number | null; settings: Record<string, unknown> | null } | undefined;
  const client = await db.connect();
  let broken: unknown;
  try {
    ({ rows: [row] } = await client.query<{ version: number | null; settings: Record<string, unknown> | null }>(
      `SELECT (SELECT max(version) FROM ${SCHEMA}.schema_migrations) AS version,
              (SELECT json_object_agg(name, value) FROM ${SCHEMA}.settings) AS settings`,
    ));
  } catch (err) {
    if (isConnectionLoss(err)) broken = err;
    if (!isMissingSchema(err)) throw queryError(err, db.name);
  } finally {
    client.release(broken as Error | undefined);
  }
  const version = row?.version ?? 0;
  const latest = latestVersion();
  if (version < latest) {
    const what = version === 0 ? 'is not migrated' : `has schema version ${version}, this mailbox needs ${latest}`;
    throw new MailboxError('ECONFIG', `database ${db.name.shown} ${what}`, { hint: 'run mailbox db migrate (once, from any machine), then try again' });
  }
  if (version > latest) {
    throw new MailboxError('ECONFIG', `database ${db.name.shown} has schema version ${version}, newer than this mailbox knows (${latest})`, {
      hint: 'upgrade mailbox on this machine',
    });
  }
  return { version, settings: row?.settings ?? {} };
}
