// The readers' cursor logic on the memory store with in-memory servers: UIDVALIDITY changes, gaps,
// the size limit, delete mode, lost seen state. (test/integration/reader.test.ts reads a real Dovecot.)
import { describe, expect, it } from 'vitest';
import type { Account } from '../../src/core/account.js';
import type { ReadDeps } from '../../src/jobs/read-common.js';
import { readImap } from '../../src/jobs/read-imap.js';
import { readPop3 } from '../../src/jobs/read-pop3.js';
import { openMemoryStores, type MemoryStores } from '../../src/store/memory/index.js';
import { FakeImap, FakePop3, mail } from '../helpers/fake-mail.js';

const imapAccount: Account = { name: 'Work', type: 'imap', host: 'h', port: 993, security: 'tls', auth: 'password', active: true, debug: false, tls: {}, folder: 'INBOX' };
const pop3Account: Account = { ...imapAccount, name: 'pop', type: 'pop3', port: 995, folder: undefined };

function deps(stores: MemoryStores, over: Partial<ReadDeps> = {}): ReadDeps {
  let t = 0;
  return { stores, clock: () => new Date('2025-01-01T00:00:00Z'), monotonic: () => t++, ...over };
}

/** The Message-IDs stored for the account, each as often as it is stored. */
function stored(stores: MemoryStores): string[] {
  return [...stores.mail.messages.values()].map((m) => /Message-ID: <([^>]+)>/.exec(m.body.toString())![1]!).sort();
}

const ids = (...ns: number[]) => ns.map((n) => `m${n}@test`).sort();

describe('IMAP reader', () => {
  it('stores new mail once; an idle poll is STATUS only', async () => {
    const stores = openMemoryStores();
    const server = new FakeImap();
    server.add(mail(1), mail(2), mail(3));
    expect((await readImap(server, imapAccount, deps(stores))).result).toMatchObject({ received: 3 });
    expect(await stores.seen.imapCursor('work')).toMatchObject({ uidValidity: 100, lastUid: 3, extra: [] });
    server.calls.length = 0;
    expect((await readImap(server, imapAccount, deps(stores))).result).toMatchObject({ received: 0, duplicates: 0 });
    expect(server.calls).toEqual(['status']);
    server.add(mail(4));
    expect((await readImap(server, imapAccount, deps(stores))).result).toMatchObject({ received: 1 });
    expect(server.calls.slice(1)).toEqual(['status', 'list 4', 'fetch 4']);
    expect(stored(stores)).toEqual(ids(1, 2, 3, 4));
    expect(stores.mail.stagedCount).toBe(0);
  });

  it('after a UIDVALIDITY change reads everything again, stores only what is new, and says so', async () => {
    const stores = openMemoryStores();
    const server = new FakeImap();
    server.add(mail(1), mail(2));
    await readImap(server, imapAccount, deps(stores));
    server.renumber();
    server.add(mail(3));
    const { result } = await readImap(server, imapAccount, deps(stores));
    expect(result).toMatchObject({ received: 1, duplicates: 2 });
    expect(result.notes.join()).toMatch(/UIDVALIDITY of INBOX changed from 100 to 1100/);
    expect(await stores.seen.imapCursor('work')).toMatchObject({ uidValidity: 1100, lastUid: 3, dedupe: false });
    expect(stored(stores)).toEqual(ids(1, 2, 3));
  });

  it('a failure mid-download leaves a gap: what was stored stays, the gap is fetched next cycle, nothing twice', async () => {
    const stores = openMemoryStores();
    const server = new FakeImap();
    server.add(...[1, 2, 3, 4, 5, 6].map((n) => mail(n)));
    // The store refuses message 3 once (a full disk, say); messages after it may still be stored.
    const stage = stores.incoming.stage.bind(stores.incoming);
    let refused = false;
    stores.incoming.stage = async (data, source) => {
      if (source.id === '100/3' && !refused) {
        refused = true;
        await new Promise((r) => setTimeout(r, 20)); // the messages after it are delivered meanwhile
        throw new Error('no space left on device');
      }
      return stage(data, source);
    };
    const cut = await readImap(server, imapAccount, deps(stores));
    expect(String(cut.failure)).toMatch(/no space left/);
    const cursor = (await stores.seen.imapCursor('work'))!;
    expect(cursor.lastUid).toBe(2);
    expect(cursor.extra).toEqual([4, 5, 6]); // delivered while the failure was on its way: kept
    expect(stored(stores)).toEqual(ids(1, 2, 4, 5, 6));
    server.calls.length = 0;
    const next = await readImap(server, imapAccount, deps(stores));
    expect(next.failure).toBeUndefined();
    expect(server.calls).toEqual(['status', 'list 3', 'fetch 3']);
    expect(stored(stores)).toEqual(ids(1, 2, 3, 4, 5, 6));
    expect(await stores.seen.imapCursor('work')).toMatchObject({ lastUid: 6, extra: [] });
  });

  it('leaves a message over the size limit on the server, reports it once, and fetches it once the limit allows', async () => {
    const stores = openMemoryStores();
    const server = new FakeImap();
    server.add(mail(1), mail(2, 'x'.repeat(5000)), mail(3));
    const limited = { ...imapAccount, maxMessageSize: 1000 };
    const first = await readImap(server, limited, deps(stores));
    expect(first.result).toMatchObject({ received: 2, leftTooLarge: 1 });
    expect(first.result.tooLarge.map((m) => m.n)).toEqual([2]);
    expect(first.result.notes).toEqual([
      `a message from sender2@example.test, subject "message 2", 5.0 KB (${mail(2, 'x'.repeat(5000)).length} bytes), is over the maximum size of 1.0 KB (1000 bytes): left on the server (id 100/2)`,
    ]);
    expect(server.calls).toContain('headers 2');
    expect(await stores.seen.imapCursor('work')).toMatchObject({ lastUid: 3, tooLarge: { '2': expect.any(Number) } });
    const again = await readImap(server, limited, deps(stores));
    expect(again.result).toMatchObject({ received: 0, leftTooLarge: 1, tooLarge: [] });
    const raised = await readImap(server, { ...imapAccount, maxMessageSize: 100_000 }, deps(stores));
    expect(raised.result).toMatchObject({ received: 1, leftTooLarge: 0 });
    expect(await stores.seen.imapCursor('work')).toMatchObject({ lastUid: 3, tooLarge: {} });
    expect(stored(stores)).toEqual(ids(1, 2, 3));
  });

  it('forgets a too-large message deleted from the server', async () => {
    const stores = openMemoryStores();
    const server = new FakeImap();
    server.add(mail(1, 'x'.repeat(5000)));
    const limited = { ...imapAccount, maxMessageSize: 1000 };
    await readImap(server, limited, deps(stores));
    server.messages = [];
    server.add(mail(2));
    expect((await readImap(server, limited, deps(stores))).result).toMatchObject({ received: 1, leftTooLarge: 0 });
    expect(await stores.seen.imapCursor('work')).toMatchObject({ tooLarge: {} });
  });

  it('delete mode: deletes only what is stored, and after a stop between storing and deleting, next cycle', async () => {
    const stores = openMemoryStores();
    const server = new FakeImap();
    server.add(mail(1), mail(2), mail(3, 'x'.repeat(5000)));
    const deleting = { ...imapAccount, deleteAfterDownload: true, maxMessageSize: 1000 };
    const stop = new AbortController();
    // A stop comes once the messages are stored: nothing may be deleted then.
    const commit = stores.incoming.commit.bind(stores.incoming);
    stores.incoming.commit = async (batch) => {
      await commit(batch);
      stop.abort();
    };
    const stopped = await readImap(server, deleting, deps(stores, { signal: stop.signal }));
    expect(stopped.result).toMatchObject({ received: 2, deleted: 0 });
    expect(server.messages.length).toBe(3);
    expect(await stores.seen.imapCursor('work')).toMatchObject({ pendingDelete: true });
    stores.incoming.commit = commit;
    const next = await readImap(server, deleting, deps(stores));
    expect(next.result).toMatchObject({ received: 0, deleted: 2, leftTooLarge: 1 });
    expect(server.messages.map((m) => m.uid)).toEqual([3]); // too large: never stored, never deleted
    expect(await stores.seen.imapCursor('work')).toMatchObject({ pendingDelete: false });
    server.calls.length = 0;
    await readImap(server, deleting, deps(stores));
    expect(server.calls).toEqual(['status']);
  });

  it('recognises stored messages by their source ids when the seen state is lost: nothing twice, none fetched', async () => {
    const stores = openMemoryStores();
    const server = new FakeImap();
    server.add(mail(1), mail(2), mail(3));
    await readImap(server, imapAccount, deps(stores));
    stores.seen.imap.clear(); // the seen-state file moved away
    server.add(mail(4));
    server.calls.length = 0;
    const { result } = await readImap(server, imapAccount, deps(stores));
    expect(result).toMatchObject({ received: 1, duplicates: 3 });
    expect(server.calls).toEqual(['status', 'list 1', 'fetch 4']);
    expect(stored(stores)).toEqual(ids(1, 2, 3, 4));
    expect(await stores.seen.imapCursor('work')).toMatchObject({ lastUid: 4, extra: [] });
  });

  it('a batch the store cannot commit is not counted as seen: fetched again next cycle, once', async () => {
    const stores = openMemoryStores();
    const server = new FakeImap();
    server.add(mail(1), mail(2));
    const commit = stores.incoming.commit.bind(stores.incoming);
    stores.incoming.commit = async () => {
      throw new Error('disk gone');
    };
    const failed = await readImap(server, imapAccount, deps(stores));
    expect(String(failed.failure)).toMatch(/disk gone/);
    expect(failed.result.received).toBe(0);
    expect(await stores.seen.imapCursor('work')).toMatchObject({ lastUid: 0 });
    stores.incoming.commit = commit;
    expect((await readImap(server, imapAccount, deps(stores))).result).toMatchObject({ received: 2 });
    expect(stored(stores)).toEqual(ids(1, 2));
  });

  it('streams a large message and stores it byte for byte; a blocked sender goes to skipped', async () => {
    const stores = openMemoryStores();
    const server = new FakeImap();
    server.large = 2000;
    const big = mail(1, 'z'.repeat(10_000));
    server.add(big, mail(2));
    const filter = { name: 'junk', direction: 'inbound' as const, allow: [], deny: ['sender2@example.test'], default: true };
    const { result } = await readImap(server, imapAccount, deps(stores, { filter }));
    expect(result).toMatchObject({ received: 1, ignored: 1 });
    const boxes = [...stores.mail.messages.values()].map((m) => [m.box, m.body.length]);
    expect(boxes).toContainEqual(['inbox', big.length]);
    expect(boxes).toContainEqual(['skipped', mail(2).length]);
    expect([...stores.mail.messages.values()].find((m) => m.box === 'inbox')!.body.equals(big)).toBe(true);
  });
});

describe('POP3 reader', () => {
  const maildrop = (...ns: number[]) => {
    const server = new FakePop3();
    server.messages = ns.map((n) => ({ uidl: `u${n}`, body: mail(n) }));
    return server;
  };

  it('stores new mail once, by UIDL', async () => {
    const stores = openMemoryStores();
    const server = maildrop(1, 2, 3);
    expect((await readPop3(server, pop3Account, deps(stores))).result).toMatchObject({ received: 3 });
    expect(await stores.seen.pop3Seen('pop')).toEqual(new Set(['u1', 'u2', 'u3']));
    server.messages.push({ uidl: 'u4', body: mail(4) });
    expect((await readPop3(server, pop3Account, deps(stores))).result).toMatchObject({ received: 1 });
    expect(server.calls.at(-1)).toBe('fetch u4');
    expect(stored(stores)).toEqual(ids(1, 2, 3, 4));
  });

  it('delete mode: a failure mid-download deletes nothing; the next cycle stores the rest and deletes all', async () => {
    const stores = openMemoryStores();
    const server = maildrop(1, 2, 3, 4);
    server.failAt = 'u3';
    const account = { ...pop3Account, deleteAfterDownload: true };
    const cut = await readPop3(server, account, deps(stores));
    expect(String(cut.failure)).toMatch(/connection lost/);
    expect(cut.result.received).toBe(2);
    server.abort(); // the runner drops the session: no QUIT
    expect(server.messages.length).toBe(4);
    const next = await readPop3(server, account, deps(stores));
    expect(next.result).toMatchObject({ received: 2, deleted: 4 });
    await server.close();
    expect(server.messages).toEqual([]);
    expect(stored(stores)).toEqual(ids(1, 2, 3, 4));
  });

  it('recognises stored messages by UIDL when the seen state is lost, and may then delete them', async () => {
    const stores = openMemoryStores();
    const server = maildrop(1, 2);
    await readPop3(server, pop3Account, deps(stores));
    stores.seen.pop3.clear();
    server.messages.push({ uidl: 'u3', body: mail(3) });
    const { result } = await readPop3(server, { ...pop3Account, deleteAfterDownload: true }, deps(stores));
    expect(result).toMatchObject({ received: 1, duplicates: 2, deleted: 3 });
    expect(await stores.seen.pop3Seen('pop')).toEqual(new Set(['u1', 'u2', 'u3']));
    expect(stored(stores)).toEqual(ids(1, 2, 3));
  });

  it('leaves a message over the size limit, reporting it once', async () => {
    const stores = openMemoryStores();
    const server = maildrop(1);
    server.messages.push({ uidl: 'big', body: mail(2, 'x'.repeat(5000)) });
    const limited = { ...pop3Account, maxMessageSize: 1000 };
    const first = await readPop3(server, limited, deps(stores));
    expect(first.result).toMatchObject({ received: 1, leftTooLarge: 1 });
    expect(first.result.tooLarge.map((m) => m.key)).toEqual(['big']);
    // Without TOP the note still gives the size and the UIDL.
    expect(first.result.notes).toEqual([expect.stringMatching(/^a message 5\.0 KB \(\d+ bytes\), is over the maximum size of 1\.0 KB \(1000 bytes\): left on the server \(id big\)$/)]);
    expect((await readPop3(server, limited, deps(stores))).result).toMatchObject({ received: 0, leftTooLarge: 1, tooLarge: [] });
    server.top = true;
    server.messages.push({ uidl: 'bigger', body: mail(3, 'x'.repeat(5000)) });
    expect((await readPop3(server, limited, deps(stores))).result.notes).toEqual([expect.stringMatching(/^a message from sender3@example\.test, subject "message 3", 5\.0 KB/)]);
  });
});
