// The reader against a real Dovecot, over IMAP and POP3: byte-exact storage, no duplicate on the next
// cycle, the inbound filter, the size limit, delete-after-download, a UIDVALIDITY change, a dropped
// connection mid-download.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Account } from '../../src/core/account.js';
import type { AddressFilter } from '../../src/core/filter.js';
import { startDovecot, type Dovecot } from '../harness/index.js';
import { bulkDeliver, clearMailbox, imapAccount, numbered, pop3Account, readOnce, serverCount, storedById, testRunner, type TestRunner } from './run-fixtures.js';

let dovecot: Dovecot;
let t: TestRunner | undefined;

const HEAD = 'From: a@example.test\r\nTo: alice@example.test\r\nMIME-Version: 1.0\r\n';
const EIGHT_BIT = Buffer.concat([
  Buffer.from(`${HEAD}Message-ID: <eight@test>\r\nSubject: 8-bit and dots\r\nContent-Type: text/plain; charset=latin1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`),
  Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xff, 0xfe, 0x0d, 0x0a]),
  Buffer.from('.one dot\r\n..two dots\r\n.\r\nafter a lone dot line\r\n'),
]);
const LONG_LINE = Buffer.from(`${HEAD}Message-ID: <long@test>\r\nSubject: long line\r\n\r\n${'L'.repeat(20_000)}\r\nend\r\n`);
const ATTACHMENT = Buffer.from(
  `${HEAD}Message-ID: <big@test>\r\nSubject: large attachment\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\n` +
    `Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${(Buffer.alloc(3_900_000, 7).toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')}\r\n--b--\r\n`,
);
const TRICKY = [EIGHT_BIT, LONG_LINE, ATTACHMENT];

beforeAll(async () => {
  dovecot = await startDovecot();
});
afterAll(async () => {
  await dovecot?.stop();
});
afterEach(() => {
  t?.cleanup();
  t = undefined;
});

const protocols = [
  ['IMAP', (over: Partial<Account> = {}) => imapAccount(dovecot, over)],
  ['POP3', (over: Partial<Account> = {}) => pop3Account(dovecot, over)],
] as const;

describe.each(protocols)('%s reader', (_name, accountOf) => {
  it('stores every message byte for byte (8-bit, dot lines, long lines, a 5 MB attachment), once', async () => {
    await clearMailbox(dovecot, 'alice').catch(() => undefined);
    for (const m of TRICKY) await dovecot.deliver('alice', m);
    const account = accountOf();
    t = testRunner(() => [account]);
    const first = await readOnce(t, account);
    expect(first).toMatchObject({ ok: true, counts: { received: 3 } });
    const stored = storedById(t.home);
    expect(stored.get('eight@test')).toEqual([EIGHT_BIT]);
    expect(stored.get('long@test')).toEqual([LONG_LINE]);
    expect(stored.get('big@test')![0]!.equals(ATTACHMENT)).toBe(true);
    // Each file names its source, and the log has it.
    const emails = [...(await t.stores.log.readAll()).values()];
    expect(emails.map((e) => e.subject).sort()).toEqual(['8-bit and dots', 'large attachment', 'long line']);
    expect(emails.every((e) => e.state === 'received' && e.account === account.name && e.source)).toBe(true);

    const second = await readOnce(t, account);
    expect(second).toMatchObject({ ok: true, counts: { received: 0 } });
    expect(second.summary).toBe('no new mail');
    expect([...storedById(t.home).values()].every((files) => files.length === 1)).toBe(true);
    expect(await serverCount(dovecot, 'alice')).toBe(3); // keep mode: nothing deleted
  });

  it('stores mail from a blocked sender in skipped, and leaves a message over the size limit on the server', async () => {
    await bulkDeliver(dovecot, 'alice', [
      Buffer.from('Message-ID: <ok@test>\r\nFrom: friend@example.test\r\nSubject: hello\r\n\r\nhi\r\n'),
      Buffer.from('Message-ID: <spam@test>\r\nFrom: Spammer <x@spam.test>\r\nSubject: buy\r\n\r\nbuy now\r\n'),
      Buffer.from(`Message-ID: <huge@test>\r\nFrom: friend@example.test\r\nSubject: huge\r\n\r\n${'h'.repeat(5000)}\r\n`),
    ]);
    const filter: AddressFilter = { name: 'nospam', direction: 'inbound', allow: [], deny: ['spam.test'], default: true };
    const account = accountOf({ maxMessageSize: 2000 });
    t = testRunner(() => [account], [filter]);
    const report = await readOnce(t, account, [filter]);
    expect(report).toMatchObject({ ok: true, counts: { received: 1, ignored: 1, tooLarge: 1, leftTooLarge: 1 } });
    // Named by what an admin knows it by (issue 9 friction): sender, subject, size; and its id on the server.
    expect(report.notes).toEqual([expect.stringMatching(/^a message from friend@example\.test, subject "huge", 5\.\d KB \(5\d\d\d bytes\), is over the maximum size of 2\.0 KB \(2000 bytes\): left on the server \(id \S+\)$/)]);
    expect([...storedById(t.home, 'inbox').keys()]).toEqual(['ok@test']);
    expect([...storedById(t.home, 'skipped').keys()]).toEqual(['spam@test']);
    const skipped = [...(await t.stores.log.readAll()).values()].find((e) => e.messageId === 'spam@test')!;
    expect(skipped).toMatchObject({ state: 'received-ignored', from: 'x@spam.test' });
    expect(skipped.error).toContain('blocked by filter nospam');
    // Reported once, still counted as left on the server next cycle.
    const again = await readOnce(t, account, [filter]);
    expect(again).toMatchObject({ ok: true, counts: { received: 0, tooLarge: 0, leftTooLarge: 1 } });
    // A larger limit lets it in.
    const bigger = accountOf({ maxMessageSize: 100_000 });
    expect(await readOnce(t, bigger, [filter])).toMatchObject({ counts: { received: 1, leftTooLarge: 0 } });
  });

  it('reads over STARTTLS too', async () => {
    await bulkDeliver(dovecot, 'alice', numbered(5));
    const account = accountOf({ security: 'starttls', port: accountOf().type === 'imap' ? dovecot.imapPort : dovecot.pop3Port });
    t = testRunner(() => [account]);
    expect(await readOnce(t, account)).toMatchObject({ ok: true, counts: { received: 5 } });
  });

  it('deletes from the server only what is stored (delete after download)', async () => {
    await bulkDeliver(dovecot, 'alice', numbered(120));
    const account = accountOf({ deleteAfterDownload: true });
    t = testRunner(() => [account]);
    expect(await readOnce(t, account)).toMatchObject({ ok: true, counts: { received: 120, deleted: 120 } });
    expect(await serverCount(dovecot, 'alice')).toBe(0);
    expect(storedById(t.home).size).toBe(120);
  });
});

describe('IMAP specifics', () => {
  it('re-reads after a UIDVALIDITY change without storing anything twice, and reports it', async () => {
    await bulkDeliver(dovecot, 'alice', numbered(30));
    const account = imapAccount(dovecot);
    t = testRunner(() => [account]);
    expect(await readOnce(t, account)).toMatchObject({ counts: { received: 30 } });
    const status = await dovecot.doveadm(['mailbox', 'status', '-u', 'alice', 'uidvalidity', 'INBOX']);
    const old = Number(/uidvalidity=(\d+)/.exec(status)![1]);
    await dovecot.doveadm(['mailbox', 'update', '-u', 'alice', '--uid-validity', String(old + 1000), 'INBOX']);
    await dovecot.deliver('alice', 'Message-ID: <after@test>\r\nSubject: after the change\r\n\r\nnew\r\n');
    const report = await readOnce(t, account);
    expect(report).toMatchObject({ ok: true, counts: { received: 1, duplicates: 30 } });
    expect(report.notes.join()).toMatch(/UIDVALIDITY of INBOX changed/);
    const stored = storedById(t.home);
    expect(stored.size).toBe(31);
    expect([...stored.values()].every((f) => f.length === 1)).toBe(true);
    expect(await readOnce(t, account)).toMatchObject({ counts: { received: 0, duplicates: 0 } });
  });

  it('an idle poll is a constant number of commands, whatever the mailbox size', async () => {
    const commands = async (n: number) => {
      await bulkDeliver(dovecot, 'alice', numbered(n, 50));
      const account = imapAccount(dovecot);
      const local = testRunner(() => [account]);
      try {
        await readOnce(local, account);
        const log = path.join(local.home, 'state', 'logs', 'imap.log');
        await readOnce(local, { ...account, debug: true });
        return fs.readFileSync(log, 'utf8').split('\n').filter((l) => / C /.test(l)).length;
      } finally {
        local.cleanup();
      }
    };
    const small = await commands(5);
    const large = await commands(400);
    expect(large).toBe(small);
  });
});

/** Forwards to Dovecot and cuts the connection once the server has sent `limit` bytes. */
async function cuttingProxy(port: number, limit: number): Promise<{ port: number; close: () => void }> {
  const server = net.createServer((client) => {
    const upstream = net.connect(port, dovecot.host);
    let sent = 0;
    upstream.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (sent > limit) {
        client.write(chunk.subarray(0, chunk.length - (sent - limit)));
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    client.on('data', (c) => upstream.write(c));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

describe.each(protocols)('%s connection dropped mid-download', (name, accountOf) => {
  it('keeps what was stored, reports the failure, and gets the rest next cycle exactly once', async () => {
    const messages = numbered(300, 2000);
    await bulkDeliver(dovecot, 'alice', messages);
    const plainPort = name === 'IMAP' ? dovecot.imapPort : dovecot.pop3Port;
    const proxy = await cuttingProxy(plainPort, 300_000);
    try {
      const viaProxy = accountOf({ port: proxy.port, security: 'none', tls: {} });
      t = testRunner(() => [viaProxy]);
      const cut = await readOnce(t, viaProxy);
      expect(cut.ok).toBe(false);
      expect(cut.error?.code).toMatch(/EPROTOCOL|ETIMEDOUT/);
      const partial = storedById(t.home);
      expect(partial.size).toBeGreaterThan(10);
      expect(partial.size).toBeLessThan(300);
      const direct = accountOf({ port: plainPort, security: 'none', tls: {} });
      expect(await readOnce(t, direct)).toMatchObject({ ok: true, counts: { received: 300 - partial.size } });
      const all = storedById(t.home);
      expect(all.size).toBe(300);
      expect([...all.values()].every((f) => f.length === 1)).toBe(true);
      for (const [i, m] of messages.entries()) expect(all.get(`m${i + 1}@test`)![0]!.equals(m)).toBe(true);
    } finally {
      proxy.close();
    }
  });
});
