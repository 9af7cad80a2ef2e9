// The PostgreSQL store through the built executable: db migrate and db status, a database that is not
// migrated, unreachable, refusing the login or missing, rows broken by hand, and database failures in
// the middle of a command (temporary 75 or not 74, nothing half-written).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, startDovecot, type Dovecot } from '../harness/index.js';
import { PG_PASSWORD } from '../harness/postgres.js';
import { baseEnv, BIN, runMailbox, tmpHome, type RunResult } from '../helpers/cli.js';
import { throttle } from '../helpers/crash.js';
import { startDatabases, type Databases } from '../helpers/databases.js';
import { bulkDeliver, numbered } from '../integration/run-fixtures.js';

let databases: Databases;
let dovecot: Dovecot;
const cleanups: Array<() => void> = [];

beforeAll(async () => {
  [databases, dovecot] = await Promise.all([startDatabases(), startDovecot()]);
});
afterAll(async () => {
  for (const c of cleanups) c();
  await Promise.all([databases?.stop(), dovecot?.stop()]);
});

function home(): string {
  const { home: dir, cleanup } = tmpHome();
  cleanups.push(cleanup);
  return dir;
}

function on(url: string, args: string[], extra: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return runMailbox(args, { home: home(), input: extra.input, env: { MAILBOX_DATABASE_URL: url, ...extra.env } });
}

const json = (r: RunResult) => JSON.parse(r.stdout);

describe('mailbox db migrate and db status', () => {
  it('migrates once (a second run has nothing to do); status tells the version, the runner and the settings', async () => {
    const url = await databases.empty();
    const before = json(await on(url, ['db', 'status', '--json']));
    expect(before).toMatchObject({ schema: { version: 0, latest: 4, pending: [{ version: 1, name: 'store' }, { version: 2, name: 'fleet' }, { version: 3, name: 'handoff' }, { version: 4, name: 'profiles_settings' }] }, runner: { running: false }, workers: [], settings: [] });
    expect(before.database).toEqual({ url: url.replace(`:${PG_PASSWORD}`, ''), host: '127.0.0.1', port: databases.pg.port, name: expect.any(String), user: 'mailbox' });
    expect(before.server.version).toMatch(/^\d+/);

    const first = await on(url, ['db', 'migrate', '--json']);
    expect(first.code).toBe(0);
    expect(json(first)).toMatchObject({ version: 4, applied: [{ version: 1, name: 'store' }, { version: 2, name: 'fleet' }, { version: 3, name: 'handoff' }, { version: 4, name: 'profiles_settings' }] });
    const second = await on(url, ['db', 'migrate']);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('schema is up to date (version 4)');

    const after = await on(url, ['db', 'status']);
    expect(after.stdout).toMatch(/^schema\s+version 4 \(up to date\)$/m);
    expect(after.stdout).toMatch(/^runner\s+not running$/m);
    expect(after.stdout).toMatch(/^setting\s+body_chunk_bytes = 1048576/m);
    expect(after.stdout).toMatch(/^setting\s+lease_seconds = 60 /m);
    expect(after.stdout).toMatch(/^setting\s+claim_batch = 64 /m);
    expect(after.stdout).toMatch(/^setting\s+worker_concurrency = 16 /m);
    for (const r of [before, first, second, after].map((x) => JSON.stringify(x))) expect(r).not.toContain(PG_PASSWORD);
  });

  it('several machines migrating at once: every one succeeds, the schema is applied once', async () => {
    const url = await databases.empty();
    const runs = await Promise.all(Array.from({ length: 4 }, () => on(url, ['db', 'migrate', '--json'])));
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    expect(runs.flatMap((r) => json(r).applied)).toEqual([{ version: 1, name: 'store' }, { version: 2, name: 'fleet' }, { version: 3, name: 'handoff' }, { version: 4, name: 'profiles_settings' }]);
    expect(await databases.pg.admin('SELECT count(*) FROM mailbox.schema_migrations', new URL(url).pathname.slice(1))).toBe('4\n');
  });

  it('any other command on a database that is not migrated: 78 naming mailbox db migrate', async () => {
    const url = await databases.empty();
    for (const args of [['list'], ['status'], ['emails'], ['send', '--to', 'a@example.test', '--text', 'x'], ['run', '--once']]) {
      const r = await on(url, [...args, '--json']);
      expect(r.code, args.join(' ')).toBe(78);
      expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'ECONFIG', message: expect.stringContaining('is not migrated'), hint: expect.stringContaining('mailbox db migrate') });
    }
  });

  it('db set changes a setting within its range and refuses anything else, naming what is accepted; a value set out of range by hand is not used and is reported', async () => {
    const url = await databases.fresh();
    const set = await on(url, ['db', 'set', 'lease_seconds', '30', '--json']);
    expect(set.code, set.stderr).toBe(0);
    expect(json(set)).toMatchObject({ name: 'lease_seconds', value: 30, previous: 60 });
    expect(JSON.stringify(json(set))).not.toContain(PG_PASSWORD);
    const shown = (r: RunResult, name: string) => json(r).settings.find((x: { name: string }) => x.name === name);
    expect(shown(await on(url, ['db', 'status', '--json']), 'lease_seconds')).toMatchObject({ value: 30, inEffect: 30, problem: null });

    for (const [args, message] of [
      [['lease_seconds', '0'], 'invalid lease_seconds "0": expected a whole number from 1 to 3600'],
      [['claim_batch', '1e3'], 'invalid claim_batch "1e3": expected a whole number from 1 to 10000'],
      [['body_chunk_bytes', '99999999999999999999'], 'expected a whole number from 65536 to 67108864'],
      [['lease', '30'], 'invalid setting "lease": expected one of body_chunk_bytes, lease_seconds, claim_batch, worker_concurrency'],
    ] as const) {
      const r = await on(url, ['db', 'set', ...args]);
      expect(r.code, args.join(' ')).toBe(65);
      expect(r.stderr).toContain(message);
    }
    expect((await on(await databases.empty(), ['db', 'set', 'lease_seconds', '30'])).code).toBe(78);
    expect(shown(await on(url, ['db', 'status', '--json']), 'lease_seconds').value).toBe(30);

    // By hand, out of range: the default is used, and status and every runner start say so.
    await databases.pg.admin(`UPDATE mailbox.settings SET value = '0' WHERE name = 'worker_concurrency'`, new URL(url).pathname.slice(1));
    const status = await on(url, ['db', 'status', '--json']);
    expect(shown(status, 'worker_concurrency')).toMatchObject({ value: 0, inEffect: 16, problem: expect.stringContaining('mailbox db set worker_concurrency VALUE') });
    expect((await on(url, ['db', 'status'])).stdout).toMatch(/^setting\s+worker_concurrency = 0 .*\[out of range: 16 is used\]$/m);
    const run = await on(url, ['run', '--once']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('setting worker_concurrency = 0 is out of range (a whole number from 1 to 1000): the default 16 is used');
  });

  it('a schema newer than this mailbox: db status says so, every other command refuses it (78)', async () => {
    const url = await databases.fresh();
    await databases.pg.admin(`INSERT INTO mailbox.schema_migrations (version, name, checksum) VALUES (99, 'future', 'x')`, new URL(url).pathname.slice(1));
    const status = await on(url, ['db', 'status']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^schema\s+version 99, newer than this mailbox knows \(4\): every other command refuses it \(78\); upgrade mailbox$/m);
    expect((await on(url, ['list'])).code).toBe(78);
  });

  it('without a database, db commands are a usage error (64)', async () => {
    const r = await runMailbox(['db', 'status'], { home: home() });
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('MAILBOX_DATABASE_URL');
  });
});

describe('a database that cannot be used', () => {
  it('unreachable 69, login refused 77, no such database 78, not a postgres URL 65: the password never shown', async () => {
    const port = await closedPort();
    const unreachable = await on(`postgres://mailbox:${PG_PASSWORD}@127.0.0.1:${port}/x`, ['list']);
    expect(unreachable.code).toBe(69);
    expect(unreachable.stderr).toContain(`database postgres://mailbox@127.0.0.1:${port}/x is unreachable: connection refused`);
    const refused = await on(databases.pg.url.replace(PG_PASSWORD, 'wrong-password'), ['list', '--json']);
    expect(refused.code).toBe(77);
    expect(JSON.parse(refused.stderr).error).toMatchObject({ code: 'EAUTH', message: expect.stringContaining('refused the login of user "mailbox"') });
    const missing = await on(databases.urlOf('no_such_db'), ['list']);
    expect(missing.code).toBe(78);
    expect(missing.stderr).toContain('no_such_db does not exist');
    const notPostgres = await runMailbox(['--database', `mysql://u:${PG_PASSWORD}@h/x`, 'list'], { home: home() });
    expect(notPostgres.code).toBe(65);
    expect(notPostgres.stderr).toContain('invalid database "mysql://***@h/x"');
    // URLs that do not parse, with a password holding "/" or "@", and a bad %-escape: 65, no password, no stack trace.
    const odd = await Promise.all(
      [`postgres://u:${PG_PASSWORD}/x@h/db`, `postgres://u:${PG_PASSWORD}@x@h:99999/db`, `postgres://u%zz:${PG_PASSWORD}@h/db`].map((url) => runMailbox(['--database', url, 'list'], { home: home() })),
    );
    for (const r of odd) {
      expect(r.code, r.stderr).toBe(65);
      expect(r.stderr).toMatch(/^mailbox: invalid database "postgres:\/\/\*\*\*@/m);
    }
    for (const r of [unreachable, refused, missing, notPostgres, ...odd]) expect(r.stdout + r.stderr).not.toContain(PG_PASSWORD);
  });

  it('--database works as MAILBOX_DATABASE_URL does, and wins over it', async () => {
    const url = await databases.fresh();
    const dir = home();
    const added = await runMailbox(['--database', url, 'add', '--type', 'smtp', '--name', 'relay', '--host', 'relay.example.test', '--security', 'none', '--no-test'], { home: dir });
    expect(added.code).toBe(0);
    const port = await closedPort();
    const listed = await runMailbox(['list', '--json', '--database', url], { home: dir, env: { MAILBOX_DATABASE_URL: `postgres://x@127.0.0.1:${port}/x` } });
    expect(json(listed).map((a: { name: string }) => a.name)).toEqual(['relay']);
    expect(await runMailbox(['list', '--json'], { home: dir }).then(json)).toEqual([]); // the local files know nothing of it
  });

  it('rows broken by hand: 78 naming the database and the problem, the rows left as they are', async () => {
    const url = await databases.fresh();
    const name = new URL(url).pathname.slice(1);
    expect((await on(url, ['add', '--type', 'smtp', '--name', 'relay', '--host', 'relay.example.test', '--security', 'none', '--no-test'])).code).toBe(0);
    await databases.pg.admin(`UPDATE mailbox.accounts SET doc = jsonb_set(doc, '{port}', '99999')`, name);
    const before = await databases.pg.admin('SELECT doc::text FROM mailbox.accounts', name);
    for (const args of [['list'], ['add', '--type', 'imap', '--name', 'x', '--host', 'h.example.test', '--user', 'u', '--password-env', 'P', '--no-test'], ['remove', 'relay', '--yes']]) {
      const r = await on(url, args);
      expect(r.code, args.join(' ')).toBe(78);
      expect(r.stderr).toMatch(/database postgres:\/\/mailbox@127\.0\.0\.1:\d+\/\w+: accounts\[0\] \(relay\): invalid port 99999/);
    }
    expect(await databases.pg.admin('SELECT doc::text FROM mailbox.accounts', name)).toBe(before);
  });

  it('a statement the database refuses: 74, and nothing of the command is kept', async () => {
    const url = await databases.fresh();
    const name = new URL(url).pathname.slice(1);
    await databases.pg.admin(`ALTER TABLE mailbox.emails ADD CONSTRAINT refuse_all CHECK (id = '') NOT VALID`, name);
    const message = `From: a@example.test\r\nTo: b@example.test\r\nSubject: big\r\n\r\n${'x'.repeat(3 * 1024 * 1024)}\r\n`;
    const r = await on(url, ['send', '--file', '-', '--json'], { input: message });
    expect(r.code).toBe(74);
    expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'EIO', message: expect.stringContaining('SQLSTATE 23514') });
    expect(await databases.pg.admin('SELECT count(*) FROM mailbox.bodies', name)).toBe('0\n');
  });
});

describe('the database failing under a runner', () => {
  it('its connections cut mid-message and the server restarted: 75 for that cycle, then every message stored exactly once', async () => {
    const url = await databases.fresh();
    const name = new URL(url).pathname.slice(1);
    const N = 200;
    const big = Buffer.from(`Message-ID: <big@test>\r\nSubject: big\r\n\r\n${'0123456789abcdef'.repeat(6 * 65536)}\r\n`);
    await bulkDeliver(dovecot, 'carol@example.test', [...numbered(N, 2000), big]);
    const proxy = await throttle(dovecot.imapPort, 1_500_000);
    cleanups.push(proxy.close);
    const dir = home();
    const account = { name: 'work', type: 'imap', host: '127.0.0.1', port: proxy.port, security: 'none', user: 'carol@example.test', secret: { kind: 'env', name: 'PW' } };
    const env = { MAILBOX_DATABASE_URL: url, PW: 'p@ss w0rd"é' };
    expect((await runMailbox(['apply', '-f', '-'], { home: dir, env, input: JSON.stringify({ accounts: [account] }) })).code).toBe(0);
    const child = spawn(process.execPath, [BIN, 'run', '--read-interval', '1s', '--log-format', 'json'], { env: baseEnv({ MAILBOX_HOME: dir, ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const sql = (text: string) => databases.pg.admin(text, name);
    const stored = async () => Number(await sql('SELECT count(*) FROM mailbox.emails'));
    const lines = () => output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { ok: boolean; error: { exit: number } | null });
    try {
      // The large message streams into its parts in a transaction of its own: cut it there.
      await until(async () => (await sql(`SELECT count(*) FROM pg_stat_activity WHERE datname = '${name}' AND query LIKE 'INSERT INTO mailbox.bodies%' AND state <> 'idle'`)) !== '0\n');
      await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mailbox' AND datname = '${name}'`);
      await until(async () => lines().some((l) => !l.ok));
      await databases.pg.restart();
      await until(async () => (await stored()) === N + 1, 60_000);
      await until(async () => lines().at(-1)?.ok === true);
      const failed = lines().filter((l) => !l.ok);
      for (const f of failed) expect(f.error?.exit, JSON.stringify(f)).toBe(75);
      expect(child.exitCode).toBeNull(); // the runner went on
      expect(await sql('SELECT count(*) - count(DISTINCT source) FROM mailbox.emails')).toBe('0\n');
      expect(await sql('SELECT count(*) FROM mailbox.staged')).toBe('0\n');
      const bigStored = await sql(`SELECT encode(sha256(string_agg(b.data, ''::bytea ORDER BY b.part)), 'hex') FROM mailbox.bodies b JOIN mailbox.emails e ON e.id = b.id WHERE e.record ->> 'subject' = 'big'`);
      expect(bigStored.trim()).toBe(createHash('sha256').update(big).digest('hex'));
      // The worker kept its lease through the restart: a second worker reads nothing of the account
      // (a runner on a database is a fleet worker now, no longer refused with 75).
      const second = await runMailbox(['run', '--once', '--log-format', 'json'], { home: dir, env });
      expect(second.code).toBe(0);
      expect(second.stdout).not.toContain('"account":"work"');
      const status = JSON.parse((await runMailbox(['status', '--json'], { home: dir, env })).stdout);
      expect(status.workers.filter((w: { alive: boolean }) => w.alive).map((w: { pid: number }) => w.pid)).toEqual([child.pid]);
      expect(status.accounts[0].worker).toBe(status.workers[0].id);
      expect(await stored()).toBe(N + 1);
    } catch (err) {
      // What the runner said, for whoever reads a failure of this test.
      console.log(`runner output:\n${output}`);
      throw err;
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 120_000);
});

async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
