// The sender on the memory store with an in-memory SMTP connection: claims in batches, overlap on one
// connection, outcomes, a stop, a connection failure. (test/integration/sender.test.ts sends to a
// real SMTP server.)
import { describe, expect, it } from 'vitest';
import type { Account } from '../../src/core/account.js';
import { sendQueue, type SendDeps } from '../../src/jobs/sender.js';
import { openMemoryStores, type MemoryStores } from '../../src/store/memory/index.js';
import { FakeSmtp, mail } from '../helpers/fake-mail.js';

const smtpAccount: Account = { name: 'out', type: 'smtp', host: 'h', port: 465, security: 'tls', auth: 'password', active: true, debug: false, tls: {}, from: 'alice@example.test' };
const t0 = new Date('2025-01-01T00:00:00Z');

async function queued(stores: MemoryStores, n: number, to = (i: number) => `rcpt${i}@example.test`): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 1; i <= n; i++) ids.push((await stores.queue.enqueue(mail(i), { account: 'out', recipients: [to(i)] })).id);
  return ids;
}

function deps(stores: MemoryStores, smtp: FakeSmtp, over: Partial<SendDeps> = {}): SendDeps {
  return { queue: stores.queue, clock: () => t0, connect: async () => smtp, ...over };
}

const states = async (stores: MemoryStores, ids: string[]) => {
  const all = await stores.log.readAll();
  return ids.map((id) => all.get(id)!.state);
};

describe('sender', () => {
  it('sends the whole queue over one connection, many at once, claiming a batch at a time', async () => {
    const stores = openMemoryStores({ clock: () => t0 });
    const ids = await queued(stores, 200);
    const claims: number[] = [];
    const claim = stores.queue.claim.bind(stores.queue);
    stores.queue.claim = async (now, limit) => {
      const got = await claim(now, limit);
      claims.push(got.length);
      return got;
    };
    const smtp = new FakeSmtp();
    smtp.delayMs = 1;
    let connects = 0;
    const summary = await sendQueue(smtpAccount, deps(stores, smtp, { connect: async () => (connects++, smtp) }));
    expect(summary).toMatchObject({ sent: 200, failed: 0, retrying: 0, waiting: 0 });
    expect(connects).toBe(1);
    expect(smtp.closed).toBe(true);
    expect(smtp.maxInFlight).toBe(16);
    expect(claims).toEqual([64, 64, 64, 8, 0]);
    expect(new Set(await states(stores, ids))).toEqual(new Set(['sent']));
    expect(smtp.sent[0]!.body).toEqual(mail(1));
  });

  it('retries a 4xx with back-off, fails a 5xx keeping the reply, and sends the rest', async () => {
    const stores = openMemoryStores({ clock: () => t0 });
    const ids = await queued(stores, 3, (i) => ['defer@x.test', 'reject@x.test', 'fine@x.test'][i - 1]!);
    const smtp = new FakeSmtp();
    smtp.reply = (to) => (to.startsWith('defer') ? { code: 451, text: '451 try later' } : to.startsWith('reject') ? { code: 550, text: '550 no such user' } : { code: 250, text: '250 ok' });
    const summary = await sendQueue(smtpAccount, deps(stores, smtp));
    expect(summary).toMatchObject({ sent: 1, failed: 1, retrying: 1, waiting: 1 });
    const all = await stores.log.readAll();
    expect(all.get(ids[0]!)).toMatchObject({ state: 'send-retry-backoff', attempts: 1, error: '451 try later', nextAttempt: '2025-01-01T00:01:00.000Z' });
    expect(all.get(ids[1]!)).toMatchObject({ state: 'send-failed', error: '550 no such user' });
    expect(all.get(ids[2]!)).toMatchObject({ state: 'sent', reply: '250 ok' });
  });

  it('a lost connection stops the cycle: what was not tried goes back untouched', async () => {
    const stores = openMemoryStores({ clock: () => t0 });
    const ids = await queued(stores, 100);
    const smtp = new FakeSmtp();
    let sends = 0;
    smtp.reply = () => (++sends === 10 ? 'drop' : { code: 250, text: '250 ok' });
    const summary = await sendQueue(smtpAccount, deps(stores, smtp));
    expect(summary.failure).toBeDefined();
    const all = await stores.log.readAll();
    const records = ids.map((id) => all.get(id)!);
    const sent = records.filter((r) => r.state === 'sent').length;
    const retrying = records.filter((r) => r.state === 'send-retry-backoff');
    const untouched = records.filter((r) => r.state === 'send-ready');
    expect(sent + retrying.length + untouched.length).toBe(100);
    expect(sent).toBeGreaterThanOrEqual(9);
    expect(retrying.length).toBeGreaterThanOrEqual(1);
    expect(untouched.length).toBeGreaterThan(0);
    for (const r of untouched) expect(r).toMatchObject({ attempts: 0, inFlight: null });
    expect(summary).toMatchObject({ sent, retrying: retrying.length });
  });

  it('a connection that cannot be opened sends nothing and counts no attempt', async () => {
    const stores = openMemoryStores({ clock: () => t0 });
    const ids = await queued(stores, 5);
    const summary = await sendQueue(smtpAccount, deps(stores, new FakeSmtp(), { connect: async () => Promise.reject(new Error('ECONNREFUSED')) }));
    expect(String(summary.failure)).toMatch(/ECONNREFUSED/);
    expect(summary).toMatchObject({ sent: 0, waiting: 5 });
    const all = await stores.log.readAll();
    for (const id of ids) expect(all.get(id)).toMatchObject({ state: 'send-ready', attempts: 0, inFlight: null });
  });

  it('a stop finishes what is on the wire and gives back the rest', async () => {
    const stores = openMemoryStores({ clock: () => t0 });
    const ids = await queued(stores, 300);
    const smtp = new FakeSmtp();
    smtp.delayMs = 1;
    const stop = new AbortController();
    let sends = 0;
    smtp.reply = () => {
      if (++sends === 50) stop.abort();
      return { code: 250, text: '250 ok' };
    };
    const summary = await sendQueue(smtpAccount, deps(stores, smtp, { signal: stop.signal }));
    expect(summary.failure).toBeUndefined();
    const found = await states(stores, ids);
    expect(found.filter((s) => s === 'sent').length).toBe(summary.sent);
    expect(summary.sent).toBeLessThan(80);
    expect(found.filter((s) => s === 'send-ready').length).toBe(300 - summary.sent);
    expect(summary.waiting).toBe(300 - summary.sent);
    expect((await stores.queue.waiting()).every((r) => !r.inFlight && r.attempts === 0)).toBe(true);
  });

  it('drops recipients the outbound filter blocks, and ignores a message left with none', async () => {
    const stores = openMemoryStores({ clock: () => t0 });
    const mixed = (await stores.queue.enqueue(mail(1), { account: 'out', recipients: ['bob@example.test', 'eve@blocked.test'] })).id;
    const none = (await stores.queue.enqueue(mail(2), { account: 'out', recipients: ['eve@blocked.test'] })).id;
    const smtp = new FakeSmtp();
    const filter = { name: 'outside', direction: 'outbound' as const, allow: [], deny: ['blocked.test'], default: true };
    const summary = await sendQueue(smtpAccount, deps(stores, smtp, { filter }));
    expect(summary).toMatchObject({ sent: 1, ignored: 1, dropped: ['eve@blocked.test (filter outside)', 'eve@blocked.test (filter outside)'] });
    expect(smtp.sent.map((s) => s.to)).toEqual([['bob@example.test']]);
    expect(await states(stores, [mixed, none])).toEqual(['sent', 'send-ignored']);
  });
});
