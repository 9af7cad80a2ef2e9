// The PostgreSQL of the test harness: starts as root or not, takes the tool's role over TCP with a
// password, restarts on its port, and leaves nothing behind.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgrep, startPostgres, type Postgres } from '../harness/index.js';

let pg: Postgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});

describe('harness PostgreSQL', () => {
  it('serves the mailbox role with a password, and admin SQL through its socket', async () => {
    const { default: pgLib } = await import('pg');
    const client = new pgLib.Client({ connectionString: pg.url });
    await client.connect();
    const { rows } = await client.query('SELECT current_user AS who, current_database() AS db');
    await client.end();
    expect(rows[0]).toEqual({ who: 'mailbox', db: 'mailbox' });
    expect(await pg.admin('SELECT count(*) FROM pg_roles WHERE rolname = $$mailbox$$')).toBe('1\n');
  });

  it('refuses a wrong password', async () => {
    const { default: pgLib } = await import('pg');
    const client = new pgLib.Client({ connectionString: pg.url.replace('mailbox-pw', 'wrong') });
    await expect(client.connect()).rejects.toMatchObject({ code: '28P01' });
  });

  it('restarts on the same port, keeping its data', async () => {
    const url = await pg.createDatabase('keep');
    await pg.admin('CREATE TABLE t (n int); INSERT INTO t VALUES (42)', 'keep');
    await pg.restart();
    expect(await pg.admin('SELECT n FROM t', 'keep')).toBe('42\n');
    expect(url).toContain(`:${pg.port}/keep`);
  });

  it('stops every process and removes its folder', async () => {
    const other = await startPostgres();
    await other.stop();
    expect(fs.existsSync(other.dir)).toBe(false);
    expect(await pgrep(other.dir)).toEqual([]);
  });
});
