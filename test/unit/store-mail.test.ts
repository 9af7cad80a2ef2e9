import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileEmailLog } from '../../src/store/local/email-log.js';
import { fileName, parseFileName } from '../../src/store/local/file-names.js';
import { MailFiles } from '../../src/store/local/mail-files.js';
import { FileSeenState } from '../../src/store/local/seen-state.js';
import type { EmailRecord } from '../../src/store/types.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-mail-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function* chunks(...parts: string[]) {
  for (const p of parts) yield Buffer.from(p, 'latin1');
}

describe('mail files', () => {
  it('writes a streamed message byte for byte into tmp/, visible only once published', async () => {
    const store = new MailFiles(path.join(dir, 'mail'));
    const bytes = 'Subject: s\r\n\r\n.dot\r\n\xe9\xff 8-bit\r\n';
    const tmp = await store.writeTmp(chunks(bytes.slice(0, 7), bytes.slice(7)), 'inbox', { source: { account: 'Work', id: '42/7' } });
    expect(await store.list('inbox')).toEqual([]);
    expect(tmp.header.toString()).toBe('Subject: s\r\n\r\n');
    await store.publish([{ tmp, box: 'inbox' }]);
    const [listed] = await store.list('inbox');
    expect(listed).toMatchObject({ id: tmp.id, size: Buffer.byteLength(bytes, 'latin1'), source: { account: 'work', id: '42/7' } });
    expect(fs.readFileSync(listed!.path).equals(Buffer.from(bytes, 'latin1'))).toBe(true);
    expect((fs.statSync(listed!.path).mode & 0o777).toString(8)).toBe('600');
    expect(fs.readdirSync(path.join(dir, 'mail/inbox/tmp'))).toEqual([]);
  });

  it('writes whole messages on writer threads, visible only once published', async () => {
    const store = new MailFiles(path.join(dir, 'mail'));
    const pooled = Buffer.from('x'.repeat(100) + 'Subject: in a bigger buffer\r\n\r\nbody\r\n');
    const view = pooled.subarray(100); // a view into a larger buffer, as sockets hand them out
    const written = await Promise.all(Array.from({ length: 20 }, (_, i) => store.writeTmp(view, 'inbox', { source: { account: 'a', id: String(i) }, batch: true })));
    expect((await store.list('inbox')).length + (await store.list('skipped')).length).toBe(0);
    await store.publish(written.map((tmp, i) => ({ tmp, box: i % 2 ? ('inbox' as const) : ('skipped' as const) })));
    const listed = [...(await store.list('inbox')), ...(await store.list('skipped'))];
    expect(listed.length).toBe(20);
    for (const f of listed) expect(fs.readFileSync(f.path).equals(view)).toBe(true);
    expect(fs.readdirSync(path.join(dir, 'mail/inbox/tmp'))).toEqual([]);
    await store.close();
  });

  it('leaves nothing behind when a message is discarded', async () => {
    const store = new MailFiles(path.join(dir, 'mail'));
    await store.discard(await store.writeTmp(Buffer.from('x'), 'inbox', { source: { account: 'a', id: '1' } }));
    expect(fs.readdirSync(path.join(dir, 'mail/inbox/tmp'))).toEqual([]);
  });

  it('round-trips any source id through the file name, and finds files a client moved to cur/', async () => {
    for (const id of ['1795339353/42', 'a/b:c,d+e%f', 'x'.repeat(70), '!~'.repeat(35)]) {
      const name = fileName('abc', 10, { account: 'acc', id });
      expect(name).not.toMatch(/[/:]/);
      expect(name.length).toBeLessThan(255);
      expect(parseFileName(`${name}:2,S`)?.source).toEqual({ account: 'acc', id });
    }
    const store = new MailFiles(path.join(dir, 'mail'));
    const tmp = await store.writeTmp(Buffer.from('Subject: m\r\n\r\n'), 'sent');
    await store.publish([{ tmp, box: 'sent' }]);
    const moved = path.join(dir, 'mail/sent/cur', `${tmp.file}:2,S`);
    fs.renameSync(path.join(dir, 'mail/sent/new', tmp.file), moved);
    const ref = { id: tmp.id, state: 'sent' as const, file: tmp.file };
    expect(await store.filePath(ref)).toBe(moved);
    expect((await store.head(ref))?.toString()).toBe('Subject: m\r\n\r\n');
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
    const { DiskWriter } = await import('../../src/store/local/disk-writer.js');
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

describe('local recovery at the start of a run', () => {
  const t0 = new Date('2025-01-01T00:00:00Z');
  const body = (n: number) => Buffer.from(`Message-ID: <r${n}@test>\r\nFrom: f@example.test\r\nSubject: r${n}\r\n\r\nx\r\n`);

  it('recognises files a stop left without their record and seen state, once', async () => {
    const { openLocalStores } = await import('../../src/store/local/index.js');
    const { resolvePaths } = await import('../../src/store/paths.js');
    const paths = resolvePaths({ MAILBOX_HOME: dir });
    const stores = openLocalStores(paths, { clock: () => t0, pid: 1, isAlive: () => false });
    // What a kill between renaming a batch into the boxes and writing its record leaves.
    const files = new MailFiles(paths.mailDir);
    const cursor = { folder: 'INBOX', uidValidity: 9, lastUid: 1, extra: [], tooLarge: {}, dedupe: false, pendingDelete: false };
    await new FileSeenState(path.join(paths.stateDir, 'seen')).saveImapCursor('Work', cursor);
    const imap = await Promise.all([1, 2, 3].map((n) => files.writeTmp(body(n), 'inbox', { source: { account: 'Work', id: `9/${n}` } })));
    const pop = await files.writeTmp(body(4), 'inbox', { source: { account: 'pop', id: 'u4' } });
    await files.publish([...imap.map((tmp) => ({ tmp, box: 'inbox' as const })), { tmp: pop, box: 'skipped' }]);
    const accounts = [
      { name: 'Work', type: 'imap' as const },
      { name: 'pop', type: 'pop3' as const },
    ];
    const notes = await stores.recover(accounts);
    expect(notes).toEqual([
      'account Work: 2 message(s) already stored but not recorded as seen were recognised by their source ids and will not be fetched again',
      'account pop: 1 message(s) already stored but not recorded as seen were recognised by their source ids and will not be fetched again',
    ]);
    expect(await stores.seen.imapCursor('work')).toMatchObject({ lastUid: 1, extra: [2, 3] });
    expect(await stores.seen.pop3Seen('pop')).toEqual(new Set(['u4']));
    const records = [...(await stores.log.readAll()).values()];
    expect(records.map((r) => [r.account, r.source, r.state, r.subject]).sort()).toEqual([
      ['Work', '9/2', 'received', 'r2'],
      ['Work', '9/3', 'received', 'r3'],
      ['pop', 'u4', 'received-ignored', 'r4'],
    ]);
    expect(await stores.incoming.held('work', ['9/1', '9/2', '9/5'])).toEqual(new Set(['9/1', '9/2']));
    expect(await stores.recover(accounts)).toEqual([]);
    expect((await stores.log.readAll()).size).toBe(3);
    await stores.close();
  });
});
