// The store interfaces, one set of cases run against every implementation: the local files and
// memory (a database store joins this list). The unit tests of the jobs run on the memory store, so
// what they prove holds for the local files only as far as these cases show the two behave alike.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openLocalStores } from '../../src/store/local/index.js';
import { openMemoryStores } from '../../src/store/memory/index.js';
import { resolvePaths } from '../../src/store/paths.js';
import { receivedRecord } from '../../src/store/records.js';
import { summarize } from '../../src/store/message-headers.js';
import type { EmailRecord, QueuedMessage, StagedMessage, Stores } from '../../src/store/types.js';

const t0 = new Date('2025-01-01T00:00:00Z');
const minutes = (n: number) => new Date(t0.getTime() + n * 60_000);
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const implementations: Array<[string, () => Stores]> = [
  [
    'local files',
    () => {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'store-contract-'));
      const stores = openLocalStores(resolvePaths({ MAILBOX_HOME: home }), { clock: () => t0, pid: 100, isAlive: (pid) => pid === 100 });
      cleanups.push(() => {
        void stores.close();
        fs.rmSync(home, { recursive: true, force: true });
      });
      return stores;
    },
  ],
  ['memory', () => openMemoryStores({ clock: () => t0, pid: 100 })],
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

describe.each(implementations)('store contract: %s', (_name, open) => {
  it('incoming: a staged message is neither held nor recorded until its batch is committed, then all of it is', async () => {
    const stores = open();
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
    const stores = open();
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
    const stores = open();
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
    const stores = open();
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
    const stores = open();
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

  it('run lock, status and config', async () => {
    const stores = open();
    const lock = await stores.lock.acquire();
    expect(await stores.lock.holder()).toBe(100);
    await lock.release();
    expect(await stores.lock.holder()).toBeNull();
    await stores.status.save({ accounts: { work: { job: 'read', at: 'x', ok: true, summary: 's', error: null, lastSuccessAt: 'x', lastError: null } } });
    expect((await stores.status.load()).accounts.work?.summary).toBe('s');
    expect((await stores.config.load()).accounts).toEqual([]);
    const result = await stores.config.update((c) => ({ config: { ...c, provisionedActive: { x: true } }, result: 42 }));
    expect(result).toBe(42);
    expect((await stores.config.load()).provisionedActive).toEqual({ x: true });
  });

  it('hand-offs (issue 13): pending with the batch, due after back-off, settled; delivery-failed moves to failed and retry brings it back', async () => {
    const stores = open();
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
