// Databases for tests of the PostgreSQL store: one harness PostgreSQL, a template database migrated
// once, and a fresh copy of it (CREATE DATABASE ... TEMPLATE) for every test or home that needs one.
import { PG_USER } from '../harness/postgres.js';
import { startPostgres, type Postgres } from '../harness/index.js';
import { migrateDatabase } from '../../src/store/postgres/admin.js';

export interface Databases {
  pg: Postgres;
  /** A new, migrated, empty database; its URL. */
  fresh(): Promise<string>;
  /** A new database without the schema (never migrated); its URL. */
  empty(): Promise<string>;
  /** The URL of database `name` on this server. */
  urlOf(name: string): string;
  stop(): Promise<void>;
}

const TEMPLATE = 'mbx_template';

export async function startDatabases(): Promise<Databases> {
  const pg = await startPostgres();
  const urlOf = (name: string) => pg.url.replace(/\/[^/]*$/, `/${name}`);
  await pg.createDatabase(TEMPLATE);
  await migrateDatabase(urlOf(TEMPLATE));
  let count = 0;
  return {
    pg,
    urlOf,
    async fresh() {
      const name = `mbx_${++count}`;
      await pg.admin(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE} OWNER ${PG_USER}`);
      return urlOf(name);
    },
    async empty() {
      return pg.createDatabase(`mbx_${++count}`);
    },
    stop: () => pg.stop(),
  };
}
