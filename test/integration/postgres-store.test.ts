// What the PostgreSQL store adds to the contract (test/unit/store-contract.test.ts), against a real
// server: fleet workers (leases shared out, fenced writes, a dead worker's leases and claims taken
// over after its lease and not before, a clean stop freeing them at once), claims that two processes never share, the unique key
// between two writers, and what a stop leaves staged, swept at the next start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarize } from '../../src/store/message-headers.js';
import { openPostgresStores, type PostgresStores } from '../../src/store/postgres/index.js';
import { receivedRecord } from '../../src/store/records.js';
import type { Account } from '../../src/core/account.js';
import { sendQueue } from '../../src/jobs/sender.js';
import { FakeSmtp } from '../helpers/fake-mail.js';
import { databaseTokenStores } from '../../src/store/postgres/tokens.js';
import { startDatabases, type Databases } from '../helpers/databases.js';

let databases: Databases;
const opened: PostgresStores[] = [];

beforeAll(async () => {
  databases = await startDatabases();
});
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await databases?.stop();
});

async function open(url: string, pid: number): Promise<PostgresStores> {
  const stores = await openPostgresStores(url, { clock: () => new Date(), pid, isAlive: () => true });
  opened.push(stores);
  return stores;
}

const message = (n: string) => Buffer.from(`Message-ID: <${n}@test>\r\nSubject: ${n}\r\n\r\nbody ${n}\r\n`);

async function* streamed(data: Buffer) {
  for (let at = 0; at < data.length; at += 1000) yield data.subarray(at, at + 1000);
}

async function commitOne(stores: PostgresStores, source: string, body = message(source), account = 'work') {
  const staged = await stores.incoming.stage(body, { account, id: source });
  await stores.incoming.commit({ account, messages: [{ staged, record: receivedRecord(staged, summarize(body), account, source, null, new Date()) }], seen: { pop3: [source] } });
}

const dbName = (url: string) => new URL(url).pathname.slice(1);
const sql = (url: string, text: string) => databases.pg.admin(text, dbName(url));

describe('fleet workers and their leases', () => {
  it('share the accounts between them, each lease with a new fencing number; a worker whose lease was taken writes nothing more of that account', async () => {
    const url = await databases.fresh();
    const [a, b] = [await open(url, 1001), await open(url, 1002)];
    await Promise.all([a.lock.acquire(), b.lock.acquire()]);
    const accounts = ['w1', 'w2', 'w3', 'w4'];
    const first = await a.lock.share(accounts);
    const second = await b.lock.share(accounts);
    expect(first.accounts.size).toBe(2);
    expect(second.accounts.size).toBe(2);
    expect(new Set([...first.accounts, ...second.accounts])).toEqual(new Set(accounts));
    expect(await sql(url, 'SELECT count(DISTINCT fencing) FROM mailbox.lease_history')).toBe('4\n');
    // Renewed, not taken again, at the next cycle.
    expect((await a.lock.share(accounts)).accounts).toEqual(first.accounts);
    expect(await sql(url, 'SELECT count(*) FROM mailbox.lease_history')).toBe('4\n');

    const [mine] = [...first.accounts];
    await commitOne(a, 'u1', undefined, mine);
    // Another worker's take, as the database sees it, while a still believes it holds the lease.
    await sql(url, `UPDATE mailbox.leases SET worker_id = 'someone', fencing = nextval('mailbox.lease_fencing') WHERE account_key = '${mine}'`);
    await expect(commitOne(a, 'u2', undefined, mine)).rejects.toMatchObject({ code: 'ELOCKED', message: expect.stringMatching(/another worker took its lease over/) });
    await expect(a.seen.addPop3Seen(mine!, ['u3'])).rejects.toMatchObject({ code: 'ELOCKED' });
    expect(await a.incoming.held(mine!, ['u1', 'u2'])).toEqual(new Set(['u1']));
    expect(await a.seen.pop3Seen(mine!)).toEqual(new Set(['u1']));
    const after = await a.lock.share(accounts);
    expect(after.lost).toEqual([mine]);
    expect(after.accounts.has(mine!)).toBe(false);
    // An account b holds is refused to a as well: it never took it.
    const [theirs] = [...second.accounts];
    await expect(commitOne(a, 'u9', undefined, theirs)).rejects.toMatchObject({ code: 'ELOCKED' });
  });

  it("a dead worker's accounts are taken over once its lease runs out, never before; its claims are due again and its late outcomes are not written", async () => {
    const url = await databases.fresh();
    await sql(url, `UPDATE mailbox.settings SET value = '1' WHERE name = 'lease_seconds'`);
    const [a, b] = [await open(url, 2001), await open(url, 2002)];
    await a.lock.acquire();
    expect((await a.lock.share(['w1', 'w2'])).accounts.size).toBe(2);
    for (let i = 0; i < 3; i++) await a.queue.enqueue(message(`q${i}`), { account: 'out', recipients: ['b@example.test'] });
    const claimed = await a.queue.claim(new Date(), 10);
    expect(claimed.length).toBe(3);
    await b.lock.acquire();
    // a is alive (its heartbeat runs): b gets nothing of its leases, nor of its claims.
    expect((await b.lock.share(['w1', 'w2'])).accounts.size).toBe(0);
    expect((await b.queue.claim(new Date(), 10)).length).toBe(0);
    a.lock.abandon(); // its heartbeat stops, as when its process is frozen
    const stopped = Date.now();
    let taken = 0;
    while (taken < 2) {
      taken = (await b.lock.share(['w1', 'w2'])).accounts.size;
      if (taken < 2) await new Promise((r) => setTimeout(r, 50));
    }
    expect(Date.now() - stopped).toBeLessThan(3000);
    expect(await sql(url, 'SELECT count(*) FROM mailbox.lease_history WHERE taken_at < previous_expires_at')).toBe('0\n');
    const reclaimed = await b.queue.claim(new Date(), 10);
    expect(reclaimed.map((m) => m.record.id).sort()).toEqual(claimed.map((m) => m.record.id).sort());
    // a comes back and writes an outcome for a message b holds now: it is not written.
    await a.lock.acquire();
    await a.queue.place(claimed[0]!, { kind: 'sent', reply: '250 late', account: 'out' }, new Date());
    expect(await sql(url, `SELECT record ->> 'state' FROM mailbox.emails WHERE id = '${claimed[0]!.record.id}'`)).toBe('send-ready\n');
  });

  it("a worker frozen in the middle of a write holds up nobody's share, and the server ends its transaction after a lease", async () => {
    const url = await databases.fresh();
    await sql(url, `UPDATE mailbox.settings SET value = '1' WHERE name = 'lease_seconds'`);
    const [a, b] = [await open(url, 4101), await open(url, 4102)];
    await a.lock.acquire();
    const mine = await a.lock.share(['w1', 'w2']);
    expect(mine.accounts.size).toBe(2);
    // a, frozen with a write's transaction open: its lease row of w1 held FOR SHARE, as fence.check leaves it.
    const frozen = await a.db.connect();
    await frozen.query('BEGIN');
    await frozen.query(`SELECT 1 FROM mailbox.leases WHERE account_key = 'w1' FOR SHARE`);
    a.lock.abandon();
    await b.lock.acquire();
    const started = Date.now();
    let taken = new Set<string>();
    while (!taken.has('w2') && Date.now() - started < 5000) taken = (await b.lock.share(['w1', 'w2', 'w3'])).accounts;
    expect(taken.has('w2')).toBe(true); // a's other lease, taken once expired, without waiting for a's transaction
    // The server ends a's transaction once it has been idle for a lease (a's own connection was set so).
    await new Promise((r) => setTimeout(r, 1500));
    const ended = await frozen.query('SELECT 1').then(() => false, () => true);
    frozen.release(new Error('ended'));
    expect(ended).toBe(true);
    while (!taken.has('w1') && Date.now() - started < 10_000) taken = (await b.lock.share(['w1', 'w2', 'w3'])).accounts;
    expect(taken).toEqual(new Set(['w1', 'w2', 'w3']));
  });

  it('a worker stopped cleanly frees its leases and its row at once', async () => {
    const url = await databases.fresh();
    const [a, b] = [await open(url, 3001), await open(url, 3002)];
    const held = await a.lock.acquire();
    await a.lock.share(['w1']);
    expect(await b.lock.holder()).toBe(3001);
    await held.release();
    expect(await b.lock.holder()).toBeNull();
    await b.lock.acquire();
    expect((await b.lock.share(['w1'])).accounts).toEqual(new Set(['w1']));
  });
});

describe('push states of several workers', () => {
  it('each worker writes and removes only the entries of the accounts it watches', async () => {
    const url = await databases.fresh();
    const [a, b] = [await open(url, 4001), await open(url, 4002)];
    const watching = (since: string) => ({ mode: 'push' as const, state: 'watching' as const, since, lastEventAt: null, reconnects: 0, reason: null });
    await a.status.save({ accounts: {}, push: { one: watching('a1') } });
    await b.status.save({ accounts: {}, push: { two: watching('b1') } });
    expect((await a.status.load()).push).toEqual({ one: watching('a1'), two: watching('b1') });
    await a.status.save({ accounts: {}, push: { one: watching('a2') } });
    expect((await b.status.load()).push).toEqual({ one: watching('a2'), two: watching('b1') });
    // a stops: its entries go, b's stay; b stops too: none is left.
    await a.status.save({ accounts: {} });
    expect((await a.status.load()).push).toEqual({ two: watching('b1') });
    await b.status.save({ accounts: {} });
    expect((await a.status.load()).push).toBeUndefined();
  });
});

describe('a worker sending while its connections are cut again and again', () => {
  it('leaves no message stuck in flight and raises nothing unhandled: every one is sent at least once', { timeout: 60_000 }, async () => {
    const url = await databases.fresh();
    const s = await open(url, 6001);
    await s.lock.acquire();
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      for (let i = 0; i < 200; i++) await s.queue.enqueue(message(`c${i}`), { account: 'out', recipients: ['b@example.test'] });
      const sent = new Set<string>();
      // The test's own look at the queue must not be hit by a cut still on its way (psql starts
      // slowly on a loaded machine): every cut is awaited, and the look is retried once it was.
      const cuts = new Set<Promise<unknown>>();
      const cutAll = () => {
        const cut = sql(url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mailbox' AND datname = current_database()`).catch(() => undefined);
        cuts.add(cut);
        void cut.finally(() => cuts.delete(cut));
      };
      const waiting = async () => {
        await Promise.all([...cuts]);
        for (let attempt = 1; ; attempt++) {
          try {
            return await s.queue.waiting();
          } catch (e) {
            if (attempt === 5 || (e as { code?: string }).code !== 'ETEMPFAIL') throw e;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      };
      for (let round = 0; round < 8 && (await waiting()).length > 0; round++) {
        const smtp = new FakeSmtp();
        smtp.delayMs = 2;
        const cutting = round < 3 ? setInterval(cutAll, 60) : undefined;
        await sendQueue({ name: 'out', type: 'smtp' } as Account, { queue: s.queue, clock: () => new Date(), connect: async () => smtp }).catch(() => undefined);
        clearInterval(cutting);
        for (const m of smtp.sent) sent.add(/Subject: (\S+)/.exec(m.body.toString())![1]!);
      }
      expect(await waiting()).toEqual([]);
      expect(sent.size).toBe(200);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('OAuth tokens on the database store', () => {
  const KEY = Buffer.alloc(32, 7).toString('base64');
  const tokens = (refreshToken: string, updatedAt: number) => ({ flow: 'device' as const, profile: 'p', clientId: 'c', refreshToken, accessToken: `at-${refreshToken}`, updatedAt });

  it('are sealed with MAILBOX_TOKEN_KEY (required: 78 naming it), and only that key opens them', async () => {
    const url = await databases.fresh();
    const s = await open(url, 7001);
    const withKey = databaseTokenStores(async () => s.db, { MAILBOX_TOKEN_KEY: KEY }).of(undefined);
    await withKey.save('Work', tokens('rt-secret-1', 1));
    expect(await withKey.load('work')).toMatchObject({ refreshToken: 'rt-secret-1', accessToken: 'at-rt-secret-1' });
    expect(await sql(url, 'SELECT sealed::text FROM mailbox.oauth_tokens')).not.toContain('rt-secret-1');
    const noKey = databaseTokenStores(async () => s.db, {}).of(undefined);
    expect(await noKey.check()).toMatchObject({ code: 'ECONFIG', exitCode: 78, message: expect.stringContaining('MAILBOX_TOKEN_KEY is not set') });
    await expect(noKey.load('work')).rejects.toMatchObject({ code: 'ECONFIG', message: expect.stringContaining('MAILBOX_TOKEN_KEY') });
    await expect(noKey.save('work', tokens('x', 2))).rejects.toMatchObject({ code: 'ECONFIG' });
    const otherKey = databaseTokenStores(async () => s.db, { MAILBOX_TOKEN_KEY: Buffer.alloc(32, 8).toString('base64') }).of(undefined);
    await expect(otherKey.load('work')).rejects.toMatchObject({ code: 'ECONFIG', message: expect.stringContaining('cannot be decrypted') });
    expect(await withKey.remove('work')).toBe(true);
    expect(await withKey.load('work')).toBeUndefined();
  });

  it('two workers refreshing at once spend the refresh token once (the row lock)', async () => {
    const url = await databases.fresh();
    const [a, b] = [await open(url, 7101), await open(url, 7102)];
    const [ta, tb] = [a, b].map((s) => databaseTokenStores(async () => s.db, { MAILBOX_TOKEN_KEY: KEY }));
    await ta!.of(undefined).save('work', tokens('rt-0', 0));
    const spent: string[] = [];
    // What the token manager does: under the lock, read again; refresh only if nobody did meanwhile.
    const refresh = (stores: typeof ta) =>
      stores!.locks.exclusive('work', async () => {
        const current = (await stores!.of(undefined).load('work'))!;
        if (current.updatedAt > 0) return current.refreshToken;
        spent.push(current.refreshToken!);
        await new Promise((r) => setTimeout(r, 300)); // the provider answering slowly
        await stores!.of(undefined).save('work', tokens('rt-1', 1));
        return 'rt-1';
      });
    const results = await Promise.all([refresh(ta), refresh(tb), refresh(ta), refresh(tb)]);
    expect(spent).toEqual(['rt-0']);
    expect(results).toEqual(['rt-1', 'rt-1', 'rt-1', 'rt-1']);
  });
});

describe('claims and the unique key between two processes', () => {
  it('two claimers take disjoint messages, together all of them (FOR UPDATE SKIP LOCKED)', async () => {
    const url = await databases.fresh();
    const [a, b] = [await open(url, 3001), await open(url, 3002)];
    for (let i = 0; i < 120; i++) await a.queue.enqueue(message(`q${i}`), { account: 'out', recipients: ['b@example.test'] });
    const now = new Date();
    const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).queue.claim(now, 20)));
    const ids = claims.flat().map((m) => m.record.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(120);
  });

  it('a message two writers store at once is kept once; the loser keeps nothing of its batch', async () => {
    const url = await databases.fresh();
    const [a, b] = [await open(url, 4001), await open(url, 4002)];
    const big = Buffer.concat([message('same'), Buffer.alloc(3 * 1024 * 1024, 0x62)]);
    const results = await Promise.allSettled([a, b].map(async (s) => {
      const staged = await s.incoming.stage(streamed(big), { account: 'work', id: '7/1' });
      await s.incoming.commit({ account: 'work', messages: [{ staged, record: receivedRecord(staged, summarize(big), 'work', '7/1', null, new Date()) }], seen: { pop3: [] } });
    }));
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason;
    expect(lost).toMatchObject({ code: 'ETEMPFAIL', message: expect.stringContaining('stored already') });
    expect(await sql(url, 'SELECT count(*) FROM mailbox.emails')).toBe('1\n');
    expect(await sql(url, 'SELECT count(DISTINCT id) FROM mailbox.bodies')).toBe('1\n');
    expect(await sql(url, 'SELECT count(*) FROM mailbox.staged')).toBe('0\n');
  });
});

describe('a stop between staging and commit', () => {
  it('leaves a staged body that no email row names; the next start removes it, and says so', async () => {
    const url = await databases.fresh();
    const a = await open(url, 5001);
    await a.incoming.stage(streamed(Buffer.alloc(2_500_000, 0x63)), { account: 'work', id: '9/9' });
    await a.close(); // stopped before the batch committed
    expect(await sql(url, 'SELECT count(*) FROM mailbox.staged')).toBe('1\n');
    const b = await open(url, 5002);
    const lock = await b.lock.acquire();
    expect(await b.recover([])).toEqual(['1 message(s) staged by a runner that stopped were removed; they are fetched again']);
    await lock.release();
    expect(await sql(url, 'SELECT (SELECT count(*) FROM mailbox.staged) + (SELECT count(*) FROM mailbox.bodies)')).toBe('0\n');
  });
});
