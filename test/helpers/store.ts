// The store the end-to-end tests of a file run on: the local files under each MAILBOX_HOME (the
// default), or, once a `*.postgres.test.ts` file has called useDatabaseStore() before importing the
// tests, a migrated PostgreSQL database of its own per home (MAILBOX_DATABASE_URL, set by baseEnv()).
// What the tests look at behind the tool's back (the stored config, the sources of stored mail, a
// message's bytes, the run lock, everything a secret could hide in) is read from whichever it is.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll } from 'vitest';
import { BOX_OF_STATE, type Box } from '../../src/core/email.js';
import { sourceOf } from '../../src/store/local/file-names.js';
import { openStores } from '../../src/store/open.js';
import { resolvePaths } from '../../src/store/paths.js';
import type { Stores } from '../../src/store/types.js';
import { storedById } from '../integration/run-fixtures.js';
import { inBox } from './crash.js';
import { startDatabases, type Databases } from './databases.js';

export type StoreKind = 'local' | 'postgres';

let databases: Databases | undefined;
const homes = new Map<string, string>();
let count = 0;

export function storeKind(): StoreKind {
  return databases ? 'postgres' : 'local';
}

export const onLocalStore = (): boolean => storeKind() === 'local';

/** This test file's commands work on databases from here on (one per MAILBOX_HOME). */
export async function useDatabaseStore(): Promise<void> {
  databases = await startDatabases();
  afterAll(async () => {
    await databases?.stop();
    databases = undefined;
  });
}

/** SQL as the superuser, through the harness's socket; its output (psql -At). */
function sql(database: string, text: string): string {
  const { pg } = databases!;
  const r = spawnSync('psql', ['-h', pg.dir, '-p', String(pg.port), '-U', 'postgres', '-d', database, '-qAt', '-v', 'ON_ERROR_STOP=1', '-c', text], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`psql: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

/** The database of a home, created (from the migrated template) the first time it is asked for. */
function databaseOf(home: string): string {
  let name = homes.get(home);
  if (!name) {
    name = `home_${++count}`;
    sql('postgres', `CREATE DATABASE ${name} TEMPLATE mbx_template OWNER mailbox`);
    homes.set(home, name);
  }
  return name;
}

/** The environment that points a command at the store of `home` (nothing for the local files). */
export function storeEnv(home: string | undefined): Record<string, string> {
  if (!databases || !home) return {};
  return { MAILBOX_DATABASE_URL: databases.urlOf(databaseOf(home)) };
}

const literal = (value: unknown) => `$json$${JSON.stringify(value)}$json$`;

/** Puts a config (config.json's shape, written as is) in place, as an admin editing the store would. */
export function writeConfig(
  home: string,
  config: { version?: number; accounts?: unknown[]; filters?: unknown[]; provisionedActive?: Record<string, boolean>; oauthProfiles?: unknown[]; settings?: Record<string, unknown> },
): void {
  if (!databases) {
    fs.writeFileSync(path.join(home, 'config.json'), JSON.stringify(config));
    return;
  }
  const rows = (table: string, list: unknown[] = []) =>
    `DELETE FROM mailbox.${table};
     INSERT INTO mailbox.${table} (name_key, position, doc)
       SELECT lower(d ->> 'name'), n - 1, d FROM jsonb_array_elements(${literal(list)}::jsonb) WITH ORDINALITY AS t(d, n);`;
  sql(
    databaseOf(home),
    `BEGIN; ${rows('accounts', config.accounts)} ${rows('filters', config.filters)}
     UPDATE mailbox.config SET version = ${Number(config.version ?? 1)}, provisioned_active = ${literal(config.provisionedActive ?? {})}::jsonb,
       oauth_profiles = ${literal(config.oauthProfiles ?? [])}::jsonb, operating_settings = ${literal(config.settings ?? {})}::jsonb; COMMIT;`,
  );
}

/** Breaks the stored config as a careless hand edit would; returns what the error names. */
export function breakConfig(home: string): RegExp {
  if (!databases) {
    fs.writeFileSync(path.join(home, 'config.json'), '{ "version": 1, "accounts": [');
    return /config\.json: not valid JSON/;
  }
  sql(databaseOf(home), `UPDATE mailbox.accounts SET doc = jsonb_set(doc, '{port}', '99999') WHERE position = (SELECT min(position) FROM mailbox.accounts)`);
  return /database postgres:\/\/\S+: accounts\[0\] \(\S+\): invalid port 99999/;
}

/**
 * The stored config as text (config.json's bytes; the database's rows as one JSON document), or
 * undefined when nothing was ever written: for "nothing written" and "unchanged" checks.
 */
export function storedConfig(home: string): string | undefined {
  if (!databases) {
    const file = path.join(home, 'config.json');
    return fs.existsSync(file) ? fs.readFileSync(file, 'latin1') : undefined;
  }
  const text = sql(
    databaseOf(home),
    `SELECT json_build_object('version', c.version,
            'accounts', coalesce((SELECT json_agg(doc ORDER BY position) FROM mailbox.accounts), '[]'),
            'filters', coalesce((SELECT json_agg(doc ORDER BY position) FROM mailbox.filters), '[]'),
            'provisionedActive', c.provisioned_active, 'oauthProfiles', c.oauth_profiles, 'settings', c.operating_settings)
     FROM mailbox.config c`,
  );
  const { oauthProfiles, settings, ...doc } = JSON.parse(text) as { accounts: unknown[]; filters: unknown[]; provisionedActive: object; oauthProfiles: unknown[]; settings: object };
  // config.json's shape: profiles and settings only when there are some.
  const whole = { ...doc, ...(oauthProfiles.length ? { oauthProfiles } : {}), ...(Object.keys(settings).length ? { settings } : {}) };
  const untouched = doc.accounts.length === 0 && doc.filters.length === 0 && Object.keys(doc.provisionedActive).length === 0 && !oauthProfiles.length && !Object.keys(settings).length;
  return untouched ? undefined : JSON.stringify(whole);
}

/** The stored config as config.json's document. */
export function storedConfigDocument(home: string): {
  accounts: Array<Record<string, unknown> & { name: string }>;
  filters: unknown[];
  provisionedActive: Record<string, boolean>;
  oauthProfiles?: unknown[];
  settings?: Record<string, unknown>;
} {
  return JSON.parse(storedConfig(home) ?? '{"accounts": [], "filters": []}');
}

/** "ACCOUNT+SOURCE" of every message stored in the inbox (local: from the file names). */
export function storedSources(home: string): string[] {
  if (!databases) {
    const dir = path.join(home, 'mail', 'inbox', 'new');
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).flatMap((name) => {
      const source = sourceOf(name);
      return source ? [`${source.account}+${source.id}`] : [];
    });
  }
  const text = sql(databaseOf(home), `SELECT account_key || '+' || source FROM mailbox.emails WHERE state = 'received' ORDER BY seq`);
  return text.split('\n').filter(Boolean);
}

/** A stored message's bytes (as `emails --json` lists it: id and path). */
export function messageBytes(home: string, email: { id: string; path: string | null }): Buffer {
  if (!databases) return fs.readFileSync(email.path!);
  const hex = sql(databaseOf(home), `SELECT encode(data, 'hex') FROM mailbox.bodies WHERE id = '${email.id.replace(/'/g, "''")}' ORDER BY part`);
  return Buffer.from(hex.replace(/\s/g, ''), 'hex');
}

/** Whether a stored message's bytes are still kept (local: its file; a database: its body parts). */
export function messageKept(home: string, email: { id: string; path: string | null }): boolean {
  if (!databases) return fs.existsSync(String(email.path));
  return sql(databaseOf(home), `SELECT count(*) FROM mailbox.bodies WHERE id = '${email.id.replace(/'/g, "''")}'`).trim() !== '0';
}

/** Takes a stored message away behind the tool's back (its record stays), as `emails --json` lists it. */
export function removeMessage(home: string, email: { id: string; path: string | null }): void {
  if (!databases) return fs.rmSync(email.path!);
  sql(databaseOf(home), `DELETE FROM mailbox.bodies WHERE id = '${email.id.replace(/'/g, "''")}'`);
}

/** Whether a runner's lock (run.lock, or a fleet worker's row in the database) was left behind. */
export function runLockLeft(home: string): boolean {
  if (!databases) return fs.existsSync(path.join(home, 'state', 'run.lock'));
  return sql(databaseOf(home), 'SELECT count(*) FROM mailbox.workers').trim() !== '0';
}

/** Everything the store keeps, as text, for "no secret anywhere": the files under home, and the database's dump. */
export function storeText(home: string, readTree: (dir: string) => string): string {
  if (!databases) return readTree(home);
  const { pg } = databases;
  const dump = spawnSync('pg_dump', ['-h', pg.dir, '-p', String(pg.port), '-U', 'postgres', '--data-only', databaseOf(home)], { encoding: 'latin1', maxBuffer: 256 * 1024 * 1024 });
  if (dump.status !== 0) throw new Error(`pg_dump: ${dump.stderr}`);
  return readTree(home) + dump.stdout;
}

const statesOf = (box: Box) => Object.entries(BOX_OF_STATE).filter(([, b]) => b === box).map(([state]) => `'${state}'`).join(', ');

/** How many messages a box holds (local: the files in its new/). */
export function storedCount(home: string, box: Box = 'inbox'): number {
  if (!databases) return inBox(home, box).length;
  return Number(sql(databaseOf(home), `SELECT count(*) FROM mailbox.emails WHERE state IN (${statesOf(box)})`).trim());
}

/** The messages of a box by their Message-ID (or id when they have none), each copy's bytes. */
export function storedMessages(home: string, box: Box = 'inbox'): Map<string, Buffer[]> {
  if (!databases) return storedById(home, box);
  const rows = sql(
    databaseOf(home),
    `SELECT e.id, encode(string_agg(b.data, ''::bytea ORDER BY b.part), 'hex')
     FROM mailbox.emails e JOIN mailbox.bodies b ON b.id = e.id WHERE e.state IN (${statesOf(box)}) GROUP BY e.id`,
  );
  const out = new Map<string, Buffer[]>();
  for (const line of rows.split('\n').filter(Boolean)) {
    const [id, hex] = line.split('|') as [string, string];
    const bytes = Buffer.from(hex, 'hex');
    const key = /^Message-ID: <([^>]+)>/im.exec(bytes.toString('latin1'))?.[1] ?? id;
    out.set(key, [...(out.get(key) ?? []), bytes]);
  }
  return out;
}

/** The store of a home, opened in this process (to queue mail behind the tool's back, say). */
export function openTestStores(home: string, pid = process.pid): Promise<Stores> {
  const database = storeEnv(home).MAILBOX_DATABASE_URL;
  return openStores(resolvePaths({ MAILBOX_HOME: home }), { clock: () => new Date(), pid, isAlive: () => false, database });
}
