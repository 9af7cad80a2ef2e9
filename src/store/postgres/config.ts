// Accounts and filters in the database: config.json as rows, read whole and validated as the file is,
// changed read-modify-write in one transaction under a row lock (the one row of `config`, FOR UPDATE),
// writing only the rows that changed. An advisory lock held across the transaction and afterWrite keeps
// the whole change exclusive, as the file lock does (afterWrite removes keychain entries the change
// left without an account: another change must not name them meanwhile).
import { canonical } from '../../core/plan.js';
import { parseConfig, type Config } from '../../core/config.js';
import type { ConfigChange, ConfigStorage } from '../types.js';
import { isConnectionLoss, queryError, type Client, type Database, type Queryable } from './connection.js';
import { LOCK_CLASS, LOCKS, SCHEMA } from './schema.js';

type Table = 'accounts' | 'filters';

interface Row {
  key: string;
  position: number;
  doc: string;
}

/**
 * Positions in the new order, keeping the old position of every entry still in order: removing or
 * appending an entry rewrites no other row.
 */
function positions(keys: readonly string[], old: ReadonlyMap<string, Row>): number[] {
  let last = -1;
  return keys.map((key) => {
    const was = old.get(key)?.position;
    last = was !== undefined && was > last ? was : last + 1;
    return last;
  });
}

export class PgConfig implements ConfigStorage {
  constructor(private readonly db: Database) {}

  /** How errors name this configuration. */
  get source(): string {
    return `database ${this.db.name.shown}`;
  }

  async load(): Promise<Config> {
    return this.read(this.db);
  }

  private async read(client: Queryable, lock = ''): Promise<Config> {
    const { rows } = await client.query<{
      version: number;
      provisioned_active: Record<string, boolean>;
      oauth_profiles: unknown[];
      operating_settings: Record<string, unknown>;
      accounts: unknown[];
      filters: unknown[];
    }>(
      `SELECT c.version, c.provisioned_active, c.oauth_profiles, c.operating_settings,
              (SELECT coalesce(json_agg(doc ORDER BY position), '[]') FROM ${SCHEMA}.accounts) AS accounts,
              (SELECT coalesce(json_agg(doc ORDER BY position), '[]') FROM ${SCHEMA}.filters) AS filters
       FROM ${SCHEMA}.config c WHERE c.id = 1 ${lock}`,
    );
    const row = rows[0];
    const raw: Record<string, unknown> = { version: row?.version ?? 1, accounts: row?.accounts ?? [], filters: row?.filters ?? [], provisionedActive: row?.provisioned_active ?? {} };
    // Absent when empty, as in config.json.
    if (row?.oauth_profiles?.length) raw.oauthProfiles = row.oauth_profiles;
    if (row && Object.keys(row.operating_settings ?? {}).length) raw.settings = row.operating_settings;
    return parseConfig(raw, this.source);
  }

  async update<T>(change: (config: Config) => Promise<ConfigChange<T>> | ConfigChange<T>): Promise<T> {
    const client = await this.db.connect();
    let broken: unknown;
    try {
      await client.query('SELECT pg_advisory_lock($1, $2)', [LOCK_CLASS, LOCKS.config]);
      try {
        return await this.change(client, change);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, LOCKS.config]).catch((err) => (broken = err));
      }
    } catch (err) {
      if (isConnectionLoss(err)) broken = err;
      throw queryError(err, this.db.name);
    } finally {
      client.release(broken as Error | undefined);
    }
  }

  private async change<T>(client: Client, change: (config: Config) => Promise<ConfigChange<T>> | ConfigChange<T>): Promise<T> {
    await client.query('BEGIN');
    let outcome: ConfigChange<T>;
    let current: Config;
    try {
      current = await this.read(client, 'FOR UPDATE OF c');
      outcome = await change(current);
      if (outcome.config) {
        try {
          await this.write(client, current, outcome.config);
        } catch (err) {
          await outcome.undo?.().catch(() => undefined);
          throw err;
        }
      }
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    // A COMMIT whose answer is lost may have been applied: no undo then (a keychain entry too many
    // is harmless; one too few loses a password).
    await client.query('COMMIT');
    await outcome.afterWrite?.();
    return outcome.result;
  }

  private async write(client: Client, before: Config, after: Config): Promise<void> {
    await this.writeTable(client, 'accounts', before.accounts, after.accounts);
    await this.writeTable(client, 'filters', before.filters, after.filters);
    await client.query(
      `UPDATE ${SCHEMA}.config SET version = $1, provisioned_active = $2::jsonb, oauth_profiles = $3::jsonb, operating_settings = $4::jsonb, updated_at = now() WHERE id = 1`,
      [after.version, JSON.stringify(after.provisionedActive), JSON.stringify(after.oauthProfiles ?? []), JSON.stringify(after.settings ?? {})],
    );
  }

  private async writeTable(client: Client, table: Table, before: ReadonlyArray<{ name: string }>, after: ReadonlyArray<{ name: string }>): Promise<void> {
    const { rows } = await client.query<{ name_key: string; position: number }>(`SELECT name_key, position FROM ${SCHEMA}.${table}`);
    const docs = new Map(before.map((entry) => [entry.name.toLowerCase(), canonical(entry)]));
    const old = new Map(rows.map((r) => [r.name_key, { key: r.name_key, position: r.position, doc: docs.get(r.name_key) ?? '' }]));
    const keys = after.map((entry) => entry.name.toLowerCase());
    const placed = positions(keys, old);
    const changed: Row[] = [];
    after.forEach((entry, i) => {
      const doc = canonical(entry);
      const was = old.get(keys[i]!);
      if (!was || was.position !== placed[i] || was.doc !== doc) changed.push({ key: keys[i]!, position: placed[i]!, doc: JSON.stringify(entry) });
    });
    const kept = new Set(keys);
    const removed = [...old.keys()].filter((key) => !kept.has(key));
    if (removed.length) await client.query(`DELETE FROM ${SCHEMA}.${table} WHERE name_key = ANY($1::text[])`, [removed]);
    if (changed.length) {
      await client.query(
        `INSERT INTO ${SCHEMA}.${table} (name_key, position, doc)
         SELECT k, p, d::jsonb FROM unnest($1::text[], $2::int[], $3::text[]) AS t(k, p, d)
         ON CONFLICT (name_key) DO UPDATE SET position = EXCLUDED.position, doc = EXCLUDED.doc`,
        [changed.map((c) => c.key), changed.map((c) => c.position), changed.map((c) => c.doc)],
      );
    }
  }
}
