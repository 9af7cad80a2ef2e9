import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileEmailLog, type EmailRecord } from '../../src/store/email-log.js';
import { fileName, LocalMailStore, parseFileName } from '../../src/store/mail-store.js';
import { FileSeenState } from '../../src/store/seen-state.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-mail-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function* chunks(...parts: string[]) {
  for (const p of parts) yield Buffer.from(p, 'latin1');
}

describe('mail store', () => {
  it('stores a streamed message byte for byte, visible only once committed', async () => {
    const store = new LocalMailStore(path.join(dir, 'mail'));
    await store.prepare();
    const bytes = 'Subject: s\r\n\r\n.dot\r\n\xe9\xff 8-bit\r\n';
    const pending = await store.write(chunks(bytes.slice(0, 7), bytes.slice(7)), { source: { account: 'Work', id: '42/7' } });
    expect(await store.list('inbox')).toEqual([]);
    expect(pending.header.toString()).toBe('Subject: s\r\n\r\n');
    const stored = await pending.commit('inbox');
    await store.sync();
    expect(fs.readFileSync(stored.path).equals(Buffer.from(bytes, 'latin1'))).toBe(true);
    expect((fs.statSync(stored.path).mode & 0o777).toString(8)).toBe('600');
    const [listed] = await store.list('inbox');
    expect(listed).toMatchObject({ id: stored.id, size: Buffer.byteLength(bytes, 'latin1'), source: { account: 'work', id: '42/7' } });
    expect(fs.readdirSync(path.join(dir, 'mail/inbox/tmp'))).toEqual([]);
  });

  it('stages whole messages on writer threads, visible only once published', async () => {
    const store = new LocalMailStore(path.join(dir, 'mail'));
    await store.prepare();
    const pooled = Buffer.from('x'.repeat(100) + 'Subject: in a bigger buffer\r\n\r\nbody\r\n');
    const view = pooled.subarray(100); // a view into a larger buffer, as sockets hand them out
    const staged = await Promise.all(Array.from({ length: 20 }, (_, i) => store.stage(view, i % 2 ? 'inbox' : 'skipped', { account: 'a', id: String(i) })));
    expect((await store.list('inbox')).length + (await store.list('skipped')).length).toBe(0);
    await store.publish(staged);
    for (const s of staged) expect(fs.readFileSync(s.path).equals(view)).toBe(true);
    expect((await store.list('inbox')).length + (await store.list('skipped')).length).toBe(20);
    expect(fs.readdirSync(path.join(dir, 'mail/inbox/tmp'))).toEqual([]);
  });

  it('leaves nothing behind when a message is discarded', async () => {
    const store = new LocalMailStore(path.join(dir, 'mail'));
    await store.prepare();
    const pending = await store.write(Buffer.from('x'), { source: { account: 'a', id: '1' } });
    await pending.discard();
    expect(fs.readdirSync(path.join(dir, 'mail/inbox/tmp'))).toEqual([]);
  });

  it('round-trips any source id through the file name, and finds files a client moved to cur/', async () => {
    for (const id of ['1795339353/42', 'a/b:c,d+e%f', 'x'.repeat(70), '!~'.repeat(35)]) {
      const name = fileName('abc', 10, { account: 'acc', id });
      expect(name).not.toMatch(/[/:]/);
      expect(name.length).toBeLessThan(255);
      expect(parseFileName(`${name}:2,S`)?.source).toEqual({ account: 'acc', id });
    }
    const store = new LocalMailStore(path.join(dir, 'mail'));
    await store.prepare();
    const stored = await (await store.write(Buffer.from('m'))).commit('sent');
    fs.renameSync(stored.path, path.join(dir, 'mail/sent/cur', `${stored.file}:2,S`));
    expect(await store.locate(stored.file, 'sent')).toBe(path.join(dir, 'mail/sent/cur', `${stored.file}:2,S`));
  });
});

describe('email log', () => {
  const record = (id: string, state: EmailRecord['state']): EmailRecord =>
    ({ id, state, to: [], cc: [], size: 1, attempts: 0, file: id, createdAt: 'now', updatedAt: 'now' }) as unknown as EmailRecord;

  it('folds to the latest line per id and survives a line torn by a crash', async () => {
    const log = new FileEmailLog(path.join(dir, 'state', 'emails.jsonl'));
    await log.append([record('a', 'send-ready'), record('b', 'received')]);
    fs.appendFileSync(log.file, '{"id":"c","sta'); // a crash mid-write
    await log.append([record('a', 'sent')]);
    const all = await log.readAll();
    expect([...all.keys()]).toEqual(['a', 'b']);
    expect(all.get('a')!.state).toBe('sent');
  });

  it('reads only what was appended since the last read, by any writer', async () => {
    const file = path.join(dir, 'emails.jsonl');
    const reader = new FileEmailLog(file);
    const seen: string[] = [];
    await new FileEmailLog(file).append([record('a', 'send-ready')]);
    expect((await reader.readNew((r) => seen.push(r.id))).reset).toBe(true);
    await new FileEmailLog(file).append([record('b', 'send-ready')]);
    fs.appendFileSync(file, '{"id":"half"'); // still being written: read next time
    await reader.readNew((r) => seen.push(r.id));
    expect(seen).toEqual(['a', 'b']);
  });

  it('can read only the lines of some states, parsing nothing else', async () => {
    const file = path.join(dir, 'emails.jsonl');
    await new FileEmailLog(file).append([record('a', 'send-ready'), record('b', 'received'), record('a', 'sent')]);
    const visited: string[] = [];
    const passed: string[] = [];
    await new FileEmailLog(file).readNew((r) => visited.push(`${r.id}:${r.state}`), { only: new Set(['send-ready']), passed: (id) => passed.push(id) });
    expect(visited).toEqual(['a:send-ready']);
    expect(passed).toEqual(['b', 'a']);
  });
});

describe('seen state', () => {
  it('keeps the IMAP cursor and the POP3 UIDL set, pruning UIDLs gone from the server', async () => {
    const seen = new FileSeenState(path.join(dir, 'seen'));
    expect(await seen.imapCursor('Work')).toBeUndefined();
    const cursor = { folder: 'INBOX', uidValidity: 7, lastUid: 42, extra: [44], tooLarge: { '40': 9e9 }, dedupe: false, pendingDelete: true };
    await seen.saveImapCursor('Work', cursor);
    expect(await seen.imapCursor('work')).toEqual(cursor);
    await seen.addPop3Seen('p', ['u1', 'u2']);
    await seen.addPop3Seen('p', ['u3']);
    expect([...(await seen.pop3Seen('p'))]).toEqual(['u1', 'u2', 'u3']);
    await seen.prunePop3Seen('p', new Set(['u2', 'u3', 'u9']));
    expect([...(await seen.pop3Seen('p'))]).toEqual(['u2', 'u3']);
  });
});

describe('disk writer', () => {
  it('falls back to an fdatasync per file where syncfs is not available', async () => {
    const { DiskWriter } = await import('../../src/store/disk-writer.js');
    const flushes: string[] = [];
    const writer = new DiskWriter(dir, { syncfs: 1, fdatasync: 2 }, async (d) => (flushes.push(d), false));
    await Promise.all(Array.from({ length: 10 }, (_, i) => writer.write(path.join(dir, `t${i}`), Buffer.from(`m${i}`))));
    await writer.durable();
    await Promise.all(Array.from({ length: 10 }, (_, i) => writer.rename(path.join(dir, `t${i}`), path.join(dir, `f${i}`))));
    await writer.close();
    expect(flushes).toEqual([dir]); // asked once whether it can, never again
    expect(fs.readFileSync(path.join(dir, 'f7'), 'utf8')).toBe('m7');
  });
});
