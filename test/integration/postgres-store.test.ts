// What the PostgreSQL store adds to the contract (test/unit/store-contract.test.ts), against a real
// server: the run lock of a session (refused while held, free when its holder's session dies, taken
// again after a cut, and never two writers), claims that two processes never share, the unique key
// between two writers, and what a stop leaves staged, swept at the next start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarize } from '../../src/store/message-headers.js';
import { openPostgresStores, type PostgresStores } from '../../src/store/postgres/index.js';
import { receivedRecord } from '../../src/store/records.js';
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

async function commitOne(stores: PostgresStores, source: string, body = message(source)) {
  const staged = await stores.incoming.stage(body, { account: 'work', id: source });
  await stores.incoming.commit({ account: 'work', messages: [{ staged, record: receivedRecord(staged, summarize(body), 'work', source, null, new Date()) }], seen: { pop3: [source] } });
}

const dbName = (url: string) => new URL(url).pathname.slice(1);
const sql = (url: string, text: string) => databases.pg.admin(text, dbName(url));

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the run lock', () => {
  it('one holder at a time, named with its pid and host; free at once when its session dies, with its last work to check', async () => {
    const url = await databases.fresh();
    const [a, b] = [await open(url, 1001), await open(url, 1002)];
    const held = await a.lock.acquire();
    expect(held.tookOverFrom).toBeNull();
    expect(await b.lock.holder()).toBe(1001);
    await expect(b.lock.acquire()).rejects.toMatchObject({ code: 'ELOCKED', message: expect.stringMatching(/runner \(pid 1001 on [^)]+\) holds database/) });
    await held.release();
    expect(await b.lock.holder()).toBeNull();
    expect(await sql(url, 'SELECT count(*) FROM mailbox.run_lock')).toBe('0\n');

    // A holder that dies without releasing: the next one takes over and is told.
    const c = await open(url, 1003);
    await c.lock.acquire();
    await c.close(); // its connections end without a release, as when its process is killed
    const next = await b.lock.acquire();
    expect(next.tookOverFrom).toBe(1003);
    await next.release();
  });

  it('a cut session is taken again; whatever the race, never two writers', async () => {
    const url = await databases.fresh();
    const [a, b] = [await open(url, 2001), await open(url, 2002)];
    await a.lock.acquire();
    await sql(url, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = 3`);
    // a takes it again by itself, as soon as the database answers.
    await until(async () => (await b.lock.holder()) === 2001);
    await commitOne(a, 'u1');

    // Cut again, with b trying to take it at the same moment: exactly one of them may write.
    await sql(url, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = 3`);
    const bGot = await b.lock.acquire().then(
      () => true,
      () => false,
    );
    const aWrote = await commitOne(a, 'u2').then(
      () => true,
      (err: { code?: string }) => {
        expect(err.code).toBe('ELOCKED');
        return false;
      },
    );
    expect(aWrote).toBe(!bGot);
    if (bGot) expect(await a.incoming.held('work', ['u2'])).toEqual(new Set());
  });
});

describe('the fence of a runner\'s writes', () => {
  it('a runner whose lock was taken over writes nothing more, even before it notices its session is gone', async () => {
    const url = await databases.fresh();
    const a = await open(url, 3001);
    await a.lock.acquire();
    await commitOne(a, 'u1');
    // Another runner's take, as the database sees it, while a still believes it holds the lock.
    await sql(url, `UPDATE mailbox.run_lock SET pid = 3002, generation = nextval('mailbox.run_lock_generation')`);
    await expect(commitOne(a, 'u2')).rejects.toMatchObject({ code: 'ELOCKED', message: expect.stringMatching(/another mailbox runner took database/) });
    await expect(a.seen.addPop3Seen('work', ['u3'])).rejects.toMatchObject({ code: 'ELOCKED' });
    expect(await a.incoming.held('work', ['u1', 'u2'])).toEqual(new Set(['u1']));
    expect(await a.seen.pop3Seen('work')).toEqual(new Set(['u1']));
  });

  it('a generation is never given twice, even after a clean release removed the row', async () => {
    const url = await databases.fresh();
    const generations: string[] = [];
    for (const pid of [3101, 3102, 3103]) {
      const s = await open(url, pid);
      const held = await s.lock.acquire();
      generations.push(await sql(url, 'SELECT generation FROM mailbox.run_lock'));
      await held.release();
    }
    expect(new Set(generations).size).toBe(3);
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
