// The deliverer on the memory store: what is committed, when, in which order, and what a failure
// leaves behind.
import { describe, expect, it } from 'vitest';
import { Deliverer, type Delivered, type DelivererOptions } from '../../src/jobs/deliver.js';
import type { RemoteMessage } from '../../src/protocols/types.js';
import { openMemoryStores, type MemoryStores } from '../../src/store/memory/index.js';
import type { SeenChange } from '../../src/store/types.js';
import { mail } from '../helpers/fake-mail.js';

const remote = (n: number, size = 0): RemoteMessage => ({ n, key: `k${n}`, size });

function deliverer(stores: MemoryStores, over: Partial<DelivererOptions> = {}) {
  const committed: Delivered[][] = [];
  const changes: SeenChange[] = [];
  const d = new Deliverer({
    store: stores.incoming,
    account: { name: 'acc' },
    clock: () => new Date('2025-01-01T00:00:00Z'),
    seenChange: (batch) => {
      const change = { pop3: batch.map((x) => x.remote.key) };
      changes.push(change);
      return change;
    },
    onCommitted: (batch) => committed.push(batch),
    ...over,
  });
  return { d, committed, changes };
}

async function* slowly(body: Buffer, gate: Promise<void>) {
  yield body.subarray(0, 10);
  await gate;
  yield body.subarray(10);
}

describe('deliverer', () => {
  it('commits a batch in one store call (bodies, records, seen change) and reports it in fetch order', async () => {
    const stores = openMemoryStores();
    const calls: number[] = [];
    const commit = stores.incoming.commit.bind(stores.incoming);
    stores.incoming.commit = async (batch) => {
      calls.push(batch.messages.length);
      return commit(batch);
    };
    const filter = { name: 'junk', direction: 'inbound' as const, allow: [], deny: ['sender2@example.test'], default: true };
    const { d, committed, changes } = deliverer(stores, { filter });
    for (const n of [1, 2, 3]) await d.add(remote(n), mail(n));
    expect(stores.log.latest.size).toBe(0); // nothing is recorded before the checkpoint
    await d.checkpoint();
    await d.add(remote(4), mail(4));
    await d.finish();
    expect(calls).toEqual([3, 1]);
    expect(committed.map((b) => b.map((x) => x.remote.n))).toEqual([[1, 2, 3], [4]]);
    expect(changes).toEqual([{ pop3: ['k1', 'k2', 'k3'] }, { pop3: ['k4'] }]);
    expect(d.counts).toEqual({ received: 3, ignored: 1, duplicate: 0 });
    expect([...stores.log.latest.values()].map((r) => [r.source, r.state])).toEqual([
      ['k1', 'received'],
      ['k2', 'received-ignored'],
      ['k3', 'received'],
      ['k4', 'received'],
    ]);
  });

  it('a duplicate is reported with its batch (so it counts as seen) but not stored', async () => {
    const stores = openMemoryStores();
    const { d, committed } = deliverer(stores, { isDuplicate: (id) => id === 'm2@test' });
    for (const n of [1, 2]) await d.add(remote(n), mail(n));
    await d.finish();
    expect(committed[0]!.map((x) => [x.remote.n, x.outcome])).toEqual([
      [1, 'received'],
      [2, 'duplicate'],
    ]);
    expect(stores.mail.messages.size).toBe(1);
    expect(stores.mail.stagedCount).toBe(0);
  });

  it('a streamed message lets the source move on once read, before it is stored', async () => {
    const stores = openMemoryStores();
    const { d } = deliverer(stores);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const body = mail(1, 'x'.repeat(3 * 1024 * 1024));
    let returned = false;
    const adding = d.add(remote(1, body.length), slowly(body, gate)).then(() => (returned = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(returned).toBe(false); // still reading the body
    open();
    await adding;
    await d.finish();
    expect([...stores.mail.messages.values()][0]!.body.equals(body)).toBe(true);
  });

  it('a failed message stops the next add; what was delivered before it is still committed', async () => {
    const stores = openMemoryStores();
    const stage = stores.incoming.stage.bind(stores.incoming);
    stores.incoming.stage = async (data, source) => {
      if (source.id === 'k2') throw new Error('disk full');
      return stage(data, source);
    };
    const { d, committed } = deliverer(stores);
    await d.add(remote(1), mail(1));
    await d.add(remote(2), mail(2)).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 0));
    await expect(d.add(remote(3), mail(3))).rejects.toThrow(/disk full/);
    await expect(d.finish()).rejects.toThrow(/disk full/);
    expect(committed.flat().map((x) => x.remote.n)).toEqual([1]);
  });

  it('after a commit fails, later batches are not kept either and nothing is left staged', async () => {
    const stores = openMemoryStores();
    const commit = stores.incoming.commit.bind(stores.incoming);
    let calls = 0;
    stores.incoming.commit = async (batch) => {
      if (++calls > 1) return commit(batch);
      // As a store does when it cannot keep a batch: nothing of it is kept.
      for (const m of batch.messages) await stores.incoming.discard(m.staged);
      throw new Error('log unwritable');
    };
    const { d, committed } = deliverer(stores);
    await d.add(remote(1), mail(1));
    const first = d.checkpoint().catch((err: Error) => err.message);
    await d.add(remote(2), mail(2)).catch(() => undefined);
    expect(await first).toBe('log unwritable');
    await expect(d.add(remote(3), mail(3))).rejects.toThrow(/log unwritable/);
    await expect(d.finish()).rejects.toThrow(/log unwritable/);
    expect(committed).toEqual([]);
    expect(stores.mail.messages.size).toBe(0);
    expect(stores.mail.stagedCount).toBe(0);
  });

  it('keeps at most maxInFlight deliveries under way', async () => {
    const stores = openMemoryStores();
    let inFlight = 0;
    let most = 0;
    const stage = stores.incoming.stage.bind(stores.incoming);
    stores.incoming.stage = async (data, source) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      return stage(data, source);
    };
    const { d } = deliverer(stores, { maxInFlight: 4 });
    for (let n = 1; n <= 20; n++) await d.add(remote(n), mail(n));
    await d.finish();
    expect(most).toBe(4);
    expect(d.counts.received).toBe(20);
  });
});
