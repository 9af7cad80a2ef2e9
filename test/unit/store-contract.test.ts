// The store interfaces, one set of cases run against every implementation: the local files, memory
// and PostgreSQL (a fresh database per case, on the harness's server). The unit tests of the jobs run
// on the memory store, so what they prove holds for the others only as far as these cases show the
// implementations behave alike.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openLocalStores } from '../../src/store/local/index.js';
import { openMemoryStores } from '../../src/store/memory/index.js';
import { openPostgresStores } from '../../src/store/postgres/index.js';
import { startDatabases, type Databases } from '../helpers/databases.js';
import { resolvePaths } from '../../src/store/paths.js';
import { receivedRecord } from '../../src/store/records.js';
import { summarize } from '../../src/store/message-headers.js';
import { MailboxError } from '../../src/core/errors.js';
import type { EmailRecord, QueuedMessage, StagedMessage, Stores } from '../../src/store/types.js';

const t0 = new Date('2025-01-01T00:00:00Z');
const minutes = (n: number) => new Date(t0.getTime() + n * 60_000);
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

let databases: Promise<Databases> | undefined;
afterAll(async () => {
  await (await databases)?.stop();
});

interface Implementation {
  open: () => Stores | Promise<Stores>;
  /**
   * A commit refuses a second message of an account and source id (memory, and the database's unique
   * key). The local files do not look: the reader asks held() before fetching, and recovery finds
   * what a stop left by the source ids in the file names.
   */
  uniqueSource: boolean;
  /** Keeps each message as a file (filePath gives it): the local store only. */
  files: boolean;
}

const implementations: Array<[string, Implementation]> = [
  [
    'local files',
    {
      uniqueSource: false,
      files: true,
      open: () => {
        const home = fs.mkdtempSync(path.join(os.tmpdir(), 'store-contract-'));
        const stores = openLocalStores(resolvePaths({ MAILBOX_HOME: home }), { clock: () => t0, pid: 100, isAlive: (pid) => pid === 100 });
        cleanups.push(() => {
          void stores.close();
          fs.rmSync(home, { recursive: true, force: true });
        });
        return stores;
      },
    },
  ],
  ['memory', { uniqueSource: true, files: false, open: () => openMemoryStores({ clock: () => t0, pid: 100 }) }],
  [
    'postgres',
    {
      uniqueSource: true,
      files: false,
      open: async () => {
        const url = await (await (databases ??= startDatabases())).fresh();
        const stores = await openPostgresStores(url, { clock: () => t0, pid: 100, isAlive: () => true });
        cleanups.push(() => stores.close());
        return stores;
      },
    },
  ],
];

const message = (subject: string, extra = '') => Buffer.from(`From: a@x.test\r\nTo: b@x.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@x>\r\n${extra}\r\n.dot\r\n\xe9\r\n`, 'latin1');

async function* streamed(data: Buffer) {
  for (let i = 0; i < data.length; i += 7) yield data.subarray(i, i + 7);
}

/** Stages and commits messages of `account` as the deliverer does. */
async function receive(stores: Stores, account: string, messages: Array<{ source: string; body: Buffer; blocked?: boolean }>, seen: string[]) {
  const staged: Array<{ staged: StagedMessage; record: EmailRecord }> = [];
  for (const m of messages) {
    const s = await stores.incoming.stage(m.body.length > 100 ? streamed(m.body) : m.body, { account, id: m.source });
    staged.push({ staged: s, record: receivedRecord(s, summarize(m.body), account, m.source, m.blocked ? 'blocked' : null, t0) });
  }
  await stores.incoming.commit({ account, messages: staged, seen: { pop3: seen } });
  return staged.map((s) => s.record);
}

async function content(m: QueuedMessage): Promise<Buffer> {
  const c = await m.content();
  if (Buffer.isBuffer(c)) return c;
  const chunks: Buffer[] = [];
  for await (const chunk of c) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe.each(implementations)('store contract: %s', (_name, { open, uniqueSource, files }) => {
  it('incoming: a staged message is neither held nor recorded until its batch is committed, then all of it is', async () => {
    const stores = await open();
    const body = message('one', `X-Pad: ${'p'.repeat(200)}\r\n`);
    const staged = await stores.incoming.stage(streamed(body), { account: 'Work', id: '7/1' });
    expect(staged.size).toBe(body.length);
    expect(await stores.incoming.held('work', ['7/1'])).toEqual(new Set());
    expect((await stores.log.readAll()).size).toBe(0);
    const record = receivedRecord(staged, summarize(body), 'Work', '7/1', null, t0);
    await stores.incoming.commit({ account: 'Work', messages: [{ staged, record }], seen: { imap: { folder: 'INBOX', uidValidity: 7, lastUid: 1, extra: [], tooLarge: {}, dedupe: false, pendingDelete: false } } });
    expect(await stores.incoming.held('WORK', ['7/1', '7/2'])).toEqual(new Set(['7/1']));
    expect(await stores.incoming.held('other', ['7/1'])).toEqual(new Set());
    expect((await stores.log.readAll()).get(staged.id)).toMatchObject({ state: 'received', account: 'Work', source: '7/1', subject: 'one', size: body.length });
    expect(await stores.seen.imapCursor('work')).toMatchObject({ uidValidity: 7, lastUid: 1 });
    const head = await stores.mail.head(record);
    expect(head?.toString('latin1')).toContain('Subject: one\r\n');
    const file = await stores.mail.filePath(record);
    if (file !== null) expect(fs.readFileSync(file).equals(body)).toBe(true);
    // The exact bytes, streamed (emails show --raw); null for a message that is not there.
    const read = await stores.mail.read(record);
    expect(read).not.toBeNull();
    const chunks: Buffer[] = [];
    for await (const chunk of read!) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
    expect(await stores.mail.read({ ...record, id: 'nope', file: 'nope' })).toBeNull();
  });

  it('incoming: a discarded message leaves nothing; a blocked sender is kept in skipped', async () => {
    const stores = await open();
    const dropped = await stores.incoming.stage(message('dup'), { account: 'p', id: 'u0' });
    await stores.incoming.discard(dropped);
    const [kept, blocked] = await receive(stores, 'p', [{ source: 'u1', body: message('kept') }, { source: 'u2', body: message('spam'), blocked: true }], ['u0', 'u1', 'u2']);
    expect([...(await stores.log.readAll()).values()].map((r) => [r.subject, r.state])).toEqual([
      ['kept', 'received'],
      ['spam', 'received-ignored'],
    ]);
    expect(await stores.seen.pop3Seen('p')).toEqual(new Set(['u0', 'u1', 'u2']));
    expect(await stores.incoming.held('p', ['u0', 'u1', 'u2'])).toEqual(new Set(['u1', 'u2']));
    expect(await stores.mail.head(kept!)).not.toBeNull();
    expect(await stores.mail.head(blocked!)).not.toBeNull();
    expect(await stores.mail.head({ id: dropped.id, state: 'received', file: dropped.file })).toBeNull();
  });

  it('queue: enqueue, claim in batches oldest first, never twice, and settle', async () => {
    const stores = await open();
    const queued: EmailRecord[] = [];
    for (let i = 0; i < 5; i++) queued.push(await stores.queue.enqueue(message(`q${i}`), { account: 'out', recipients: ['b@x.test', 'hidden@x.test'] }));
    expect(queued[0]).toMatchObject({ state: 'send-ready', subject: 'q0', to: ['b@x.test'], recipients: ['b@x.test', 'hidden@x.test'], attempts: 0 });
    expect((await stores.queue.waiting()).length).toBe(5);
    const first = await stores.queue.claim(t0, 2);
    const second = await stores.queue.claim(t0, 2);
    const third = await stores.queue.claim(t0, 2);
    expect([...first, ...second, ...third].map((m) => m.record.subject)).toEqual(['q0', 'q1', 'q2', 'q3', 'q4']);
    expect(await stores.queue.claim(t0, 2)).toEqual([]);
    expect(first[0]!.record).toMatchObject({ attempts: 1, inFlight: t0.toISOString() });
    expect(await content(first[0]!)).toEqual(message('q0'));
    expect(first[0]!.size).toBe(message('q0').length);
    const sent = await stores.queue.place(first[0]!, { kind: 'sent', reply: '250 ok', account: 'out' }, t0);
    const failed = await stores.queue.place(first[1]!, { kind: 'failed', error: '550 no' }, t0);
    const ignored = await stores.queue.place(second[0]!, { kind: 'ignored', reason: 'blocked' }, t0);
    const untried = await stores.queue.place(second[1]!, { kind: 'untried' }, t0);
    await stores.queue.commit([sent, failed, ignored, untried]);
    const all = await stores.log.readAll();
    expect([0, 1, 2, 3].map((i) => all.get(queued[i]!.id)!.state)).toEqual(['sent', 'send-failed', 'send-ignored', 'send-ready']);
    expect(all.get(queued[0]!.id)).toMatchObject({ reply: '250 ok', inFlight: null, attempts: 1 });
    expect(all.get(queued[3]!.id)).toMatchObject({ attempts: 0, inFlight: null });
    // The untried one is due again; the one still claimed (q4) is not.
    expect((await stores.queue.claim(t0, 10)).map((m) => m.record.subject)).toEqual(['q3']);
    expect((await stores.queue.waiting()).map((r) => r.subject).sort()).toEqual(['q3', 'q4']);
  });

  it('queue: backs off 1, 5, 10, 20, 40, 60, 120, 120 minutes on temporary failures, then fails', async () => {
    const stores = await open();
    const record = await stores.queue.enqueue(message('retry'), { account: 'out', recipients: ['b@x.test'] });
    let now = t0;
    for (const wait of [1, 5, 10, 20, 40, 60, 120, 120]) {
      const [due] = await stores.queue.claim(now, 10);
      expect(due?.record.id).toBe(record.id);
      const s = await stores.queue.place(due!, { kind: 'retry', error: '451 try later' }, now);
      await stores.queue.commit([s]);
      expect(s.record.state).toBe('send-retry-backoff');
      expect(Date.parse(s.record.nextAttempt!) - now.getTime()).toBe(wait * 60_000);
      expect(await stores.queue.claim(new Date(now.getTime() + wait * 60_000 - 1), 10)).toEqual([]);
      now = new Date(now.getTime() + wait * 60_000);
    }
    const [last] = await stores.queue.claim(now, 10);
    const s = await stores.queue.place(last!, { kind: 'retry', error: '451 try later' }, now);
    await stores.queue.commit([s]);
    expect(s).toMatchObject({ gaveUp: true, record: { state: 'send-failed', attempts: 9 } });
    expect(s.record.error).toContain('451 try later');
  });

  it('queue: requeue puts a failed message back; other states are refused, an unknown id is 66', async () => {
    const stores = await open();
    const record = await stores.queue.enqueue(message('fail'), { account: 'out', recipients: ['b@x.test'] });
    const [due] = await stores.queue.claim(t0, 1);
    await stores.queue.commit([await stores.queue.place(due!, { kind: 'failed', error: '550 no such user' }, t0)]);
    expect(await stores.queue.waiting()).toEqual([]);
    expect(await stores.queue.requeue(record.id, minutes(3))).toMatchObject({ state: 'send-ready', attempts: 0, error: null });
    const [again] = await stores.queue.claim(minutes(3), 1);
    expect(await content(again!)).toEqual(message('fail'));
    await expect(stores.queue.requeue(record.id, minutes(4))).rejects.toMatchObject({ code: 'EVALUE' });
    await expect(stores.queue.requeue('nosuchid', minutes(4))).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('incoming: a large message streamed in, kept and read back byte for byte; an empty one too', async () => {
    const stores = await open();
    // Over a database part (1 MiB) and not a multiple of it; every byte value.
    const big = Buffer.alloc(2 * 1024 * 1024 + 12345);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 11)) & 0xff;
    const body = Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), big]);
    async function* pieces() {
      for (let at = 0; at < body.length; at += 300_001) yield body.subarray(at, at + 300_001);
    }
    const large = await stores.incoming.stage(pieces(), { account: 'w', id: '1/1' });
    const empty = await stores.incoming.stage(Buffer.alloc(0), { account: 'w', id: '1/2' });
    expect([large.size, empty.size]).toEqual([body.length, 0]);
    const records = [receivedRecord(large, summarize(body), 'w', '1/1', null, t0), receivedRecord(empty, summarize(Buffer.alloc(0)), 'w', '1/2', null, t0)];
    await stores.incoming.commit({ account: 'w', messages: [{ staged: large, record: records[0]! }, { staged: empty, record: records[1]! }], seen: { pop3: [] } });
    const read = async (record: EmailRecord) => {
      const stream = await stores.mail.read(record);
      const chunks: Buffer[] = [];
      for await (const chunk of stream!) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    };
    expect((await read(records[0]!)).equals(body)).toBe(true);
    expect((await read(records[1]!)).length).toBe(0);
    expect((await stores.mail.head(records[0]!))?.toString()).toBe('Subject: big\r\n\r\n');
  });

  it.runIf(uniqueSource)('incoming: a batch with a message stored already is refused whole; the next batch is not disturbed', async () => {
    const stores = await open();
    await receive(stores, 'p', [{ source: 'u1', body: message('first') }], ['u1']);
    const again = await stores.incoming.stage(message('again'), { account: 'P', id: 'u1' });
    const other = await stores.incoming.stage(message('other'), { account: 'P', id: 'u2' });
    const batch = [again, other].map((staged, i) => ({ staged, record: receivedRecord(staged, summarize(message('x')), 'P', ['u1', 'u2'][i]!, null, t0) }));
    await expect(stores.incoming.commit({ account: 'P', messages: batch, seen: { pop3: ['u1', 'u2'] } })).rejects.toBeInstanceOf(MailboxError);
    expect([...(await stores.log.readAll()).values()].map((r) => r.subject)).toEqual(['first']);
    expect(await stores.incoming.held('p', ['u1', 'u2'])).toEqual(new Set(['u1']));
    expect(await stores.seen.pop3Seen('p')).toEqual(new Set(['u1']));
    await receive(stores, 'p', [{ source: 'u2', body: message('other') }], ['u2']);
    expect(await stores.incoming.held('p', ['u1', 'u2'])).toEqual(new Set(['u1', 'u2']));
  });

  it('seen state: IMAP cursor, POP3 UIDLs added and pruned, POP3 size notes', async () => {
    const stores = await open();
    const cursor = { folder: 'Archive', uidValidity: 9, lastUid: 40, extra: [42, 44], tooLarge: { '41': 9_000_000 }, dedupe: true, pendingDelete: true };
    await stores.seen.saveImapCursor('Work', cursor);
    expect(await stores.seen.imapCursor('WORK')).toEqual(cursor);
    expect(await stores.seen.imapCursor('other')).toBeUndefined();
    // Another folder of the account (issue 13) has a cursor of its own; the own folder's is untouched.
    const sent = { ...cursor, folder: 'Sent', uidValidity: 3, lastUid: 5, extra: [], tooLarge: {}, dedupe: false, pendingDelete: false, folders: ['INBOX', 'Sent'] };
    await stores.seen.saveImapCursor('work', sent, 'Sent');
    expect(await stores.seen.imapCursor('Work', 'Sent')).toEqual(sent);
    expect(await stores.seen.imapCursor('Work')).toEqual(cursor);
    expect(await stores.seen.imapCursor('Work', 'Drafts')).toBeUndefined();
    await stores.seen.addPop3Seen('Pop', ['a', 'b', 'c']);
    await stores.seen.addPop3Seen('pop', ['c', 'd']);
    await stores.seen.prunePop3Seen('POP', new Set(['b', 'd', 'z']));
    expect(await stores.seen.pop3Seen('pop')).toEqual(new Set(['b', 'd']));
    expect(await stores.seen.pop3Meta('pop')).toEqual({ tooLarge: {} });
    await stores.seen.savePop3Meta('Pop', { tooLarge: { big: 123 } });
    expect(await stores.seen.pop3Meta('pop')).toEqual({ tooLarge: { big: 123 } });
  });

  it('queue: a retry scheduled while the clock ran ahead is due at once; a large message is handed on streamed', async () => {
    const stores = await open();
    const large = Buffer.concat([Buffer.from('To: b@x.test\r\nSubject: large\r\n\r\n'), Buffer.alloc(1536 * 1024, 0x61)]);
    const record = await stores.queue.enqueue(large, { account: 'out', recipients: ['b@x.test'] });
    const [due] = await stores.queue.claim(t0, 1);
    expect((await content(due!)).equals(large)).toBe(true); // not toEqual: megabytes compared element by element take seconds
    // Backing off 1 minute after its first attempt, but scheduled a day ahead (the clock ran ahead then).
    const ahead = { ...due!.record, state: 'send-retry-backoff' as const, inFlight: null, nextAttempt: new Date(t0.getTime() + 86_400_000).toISOString(), error: '451' };
    await stores.queue.commit([{ record: ahead, gaveUp: false }]);
    expect((await stores.queue.claim(t0, 1)).map((m) => m.record.id)).toEqual([record.id]);
  });

  it('log: every record in the order first written, its latest version', async () => {
    const stores = await open();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await stores.queue.enqueue(message(`l${i}`), { account: 'out', recipients: ['b@x.test'] })).id);
    const [first] = await stores.queue.claim(t0, 1);
    await stores.queue.commit([await stores.queue.place(first!, { kind: 'sent', reply: '250', account: 'out' }, t0)]);
    const all = await stores.log.readAll();
    expect([...all.keys()]).toEqual(ids);
    expect(all.get(ids[0]!)?.state).toBe('sent');
    const seen: string[] = [];
    await stores.log.scan((r) => seen.push(r.id));
    expect(new Set(seen)).toEqual(new Set(ids));
  });

  it('config: concurrent changes all land; a change that throws writes nothing', async () => {
    const stores = await open();
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        stores.config.update((c) => ({ config: { ...c, provisionedActive: { ...c.provisionedActive, [`p${i}`]: i % 2 === 0 } }, result: i })),
      ),
    );
    expect(Object.keys((await stores.config.load()).provisionedActive).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `p${i}`));
    await expect(
      stores.config.update(() => {
        throw new MailboxError('EVALUE', 'no');
      }),
    ).rejects.toMatchObject({ code: 'EVALUE' });
    expect(Object.keys((await stores.config.load()).provisionedActive)).toHaveLength(8);
  });

  it('run lock, status and config', async () => {
    const stores = await open();
    const lock = await stores.lock.acquire();
    expect(await stores.lock.holder()).toBe(100);
    await lock.release();
    expect(await stores.lock.holder()).toBeNull();
    await stores.status.save({ accounts: { work: { job: 'read', at: 'x', ok: true, summary: 's', error: null, lastSuccessAt: 'x', lastError: null } } });
    expect((await stores.status.load()).accounts.work?.summary).toBe('s');
    // Push state (issue 15): kept as saved, and gone when saved without it (the runner stopped).
    const push = { mode: 'push' as const, state: 'watching' as const, since: 'x', lastEventAt: null, reconnects: 2, reason: null };
    await stores.status.save({ accounts: {}, push: { work: push } });
    expect((await stores.status.load()).push).toEqual({ work: push });
    await stores.status.save({ accounts: {} });
    expect((await stores.status.load()).push).toBeUndefined();
    expect((await stores.config.load()).accounts).toEqual([]);
    const result = await stores.config.update((c) => ({ config: { ...c, provisionedActive: { x: true } }, result: 42 }));
    expect(result).toBe(42);
    expect((await stores.config.load()).provisionedActive).toEqual({ x: true });
  });

  it('queue: sentSince counts the messages the server took at or after a time (the throttle, across restarts)', async () => {
    const stores = await open();
    for (let i = 0; i < 3; i++) await stores.queue.enqueue(message(`s${i}`), { account: 'out', recipients: ['b@x.test'] });
    const claimed = await stores.queue.claim(t0, 3);
    await stores.queue.commit([
      await stores.queue.place(claimed[0]!, { kind: 'sent', reply: '250 ok', account: 'out' }, minutes(1)),
      await stores.queue.place(claimed[1]!, { kind: 'sent', reply: '250 ok', account: 'out' }, minutes(2)),
      await stores.queue.place(claimed[2]!, { kind: 'failed', error: '550 no' }, minutes(2)),
    ]);
    expect(await stores.queue.sentSince('OUT', t0)).toBe(2);
    expect(await stores.queue.sentSince('out', minutes(2))).toBe(1);
    expect(await stores.queue.sentSince('out', minutes(3))).toBe(0);
    expect(await stores.queue.sentSince('other', t0)).toBe(0);
  });

  it('prune: removes records and bodies together, never a queued or in-flight message', async () => {
    const stores = await open();
    const [kept, old] = await receive(stores, 'p', [{ source: 'u1', body: message('kept') }, { source: 'u2', body: message('old') }], ['u1', 'u2']);
    const queued = await stores.queue.enqueue(message('queued'), { account: 'out', recipients: ['b@x.test'] });
    const flying = await stores.queue.enqueue(message('flying'), { account: 'out', recipients: ['b@x.test'] });
    await stores.queue.claim(t0, 0);
    const [inFlight] = (await stores.queue.claim(t0, 2)).filter((m) => m.record.id === flying.id);
    const oldPath = await stores.mail.filePath(old!);
    expect(await stores.prune([old!.id, queued.id, inFlight?.record.id ?? flying.id, 'nosuchid'])).toEqual([old!.id]);
    const all = await stores.log.readAll();
    expect(all.has(old!.id)).toBe(false);
    expect(all.has(kept!.id) && all.has(queued.id) && all.has(flying.id)).toBe(true);
    expect(await stores.mail.head(old!)).toBeNull();
    expect(oldPath !== null).toBe(files);
    if (oldPath !== null) expect(fs.existsSync(oldPath)).toBe(false);
    expect(await stores.mail.head(kept!)).not.toBeNull();
    // Pruned twice: nothing more happens.
    expect(await stores.prune([old!.id])).toEqual([]);
  });

  it('status: the runner heartbeat and the last prune are kept with the accounts', async () => {
    const stores = await open();
    const runner = { pid: 7, startedAt: 'a', heartbeatAt: 'b', stoppedAt: null, readIntervalMs: 1000, sendIntervalMs: 2000 };
    await stores.status.save({ accounts: {}, runner, prunedAt: 'c' });
    expect(await stores.status.load()).toEqual({ accounts: {}, runner, prunedAt: 'c' });
  });

  it('hand-offs (issue 13): pending with the batch, due after back-off, settled; delivery-failed moves to failed and retry brings it back', async () => {
    const stores = await open();
    const staged = await stores.incoming.stage(message('h1'), { account: 'Work', id: 'u1' });
    const staged2 = await stores.incoming.stage(message('h2'), { account: 'Work', id: 'u2' });
    const r1 = receivedRecord(staged, summarize(message('h1')), 'Work', 'u1', null, t0, { dest: 'mda:true' });
    const r2 = receivedRecord(staged2, summarize(message('h2')), 'Work', 'u2', null, minutes(1), { dest: 'mda:true' });
    expect(r1.handoff).toEqual({ dest: 'mda:true', state: 'pending', attempts: 0, error: null, nextAttempt: null });
    expect(receivedRecord(staged, summarize(message('h1')), 'Work', 'u1', 'blocked', t0, { dest: 'mda:true' }).handoff).toBeUndefined();
    await stores.incoming.commit({ account: 'Work', messages: [{ staged, record: r1 }, { staged: staged2, record: r2 }], seen: { pop3: ['u1', 'u2'] } });
    expect((await stores.handoffs.due('work', t0)).map((r) => r.id)).toEqual([r1.id, r2.id]);
    expect(await stores.handoffs.due('other', t0)).toEqual([]);
    expect(await stores.handoffs.undelivered('WORK')).toEqual(new Set(['u1', 'u2']));
    expect(await stores.handoffs.counts()).toEqual({ work: { pending: 2, failed: 0 } });

    // r1 waits for a retry in 5 minutes; r2 is refused for good.
    const failed: EmailRecord = { ...r2, state: 'delivery-failed', error: 'refused', handoff: { ...r2.handoff!, state: 'failed', attempts: 1, error: 'refused' } };
    await stores.handoffs.settle([{ ...r1, handoff: { ...r1.handoff!, attempts: 2, error: 'later', nextAttempt: minutes(5).toISOString() } }, failed]);
    expect(await stores.handoffs.due('work', minutes(1))).toEqual([]);
    expect((await stores.handoffs.due('work', minutes(6))).map((r) => r.id)).toEqual([r1.id]);
    expect(await stores.handoffs.counts()).toEqual({ work: { pending: 1, failed: 1 } });
    expect((await stores.log.readAll()).get(r2.id)?.state).toBe('delivery-failed');
    expect((await stores.mail.head(failed))?.toString('latin1')).toContain('Subject: h2');
    const failedFile = await stores.mail.filePath(failed);
    expect(failedFile !== null).toBe(files);
    if (failedFile !== null) expect(failedFile).toContain(`${path.sep}failed${path.sep}`);

    const retried = await stores.handoffs.retry(r2.id, minutes(2));
    expect(retried).toMatchObject({ state: 'received', error: null, handoff: { state: 'pending', attempts: 0, nextAttempt: null, error: null } });
    expect((await stores.handoffs.due('work', minutes(2))).map((r) => r.id)).toEqual([r2.id]);
    expect((await stores.mail.head(retried))?.toString('latin1')).toContain('Subject: h2');
    await stores.handoffs.settle([{ ...retried, handoff: { ...retried.handoff!, state: 'delivered', attempts: 1 } }]);
    expect(await stores.handoffs.undelivered('work')).toEqual(new Set(['u1']));
    await expect(stores.handoffs.retry(r2.id, minutes(3))).rejects.toMatchObject({ code: 'EVALUE' });
    await expect(stores.handoffs.retry('nope', minutes(3))).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});
