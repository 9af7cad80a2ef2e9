// SIGKILL of `mailbox run` at several points of a download of hundreds of messages, then a new run:
// every message is stored exactly once, and with delete-after-download nothing leaves the server
// before it is stored. And the outbox survives a SIGKILL mid-send: nothing is lost.
// A throttling proxy slows the servers down so that the kills land in the middle of the work.
import { describe, expect, it } from 'vitest';
import type { Box } from '../../src/core/email.js';
import { startDovecot, startSmtp } from '../harness/index.js';
import { afterEachTest, useServer } from '../helpers/file-servers.js';
import { runMailbox, tmpHome } from '../helpers/cli.js';
import { killWhen, throttle } from '../helpers/crash.js';
import { openTestStores, storedCount, storedMessages, writeConfig } from '../helpers/store.js';
import { bulkDeliver, numbered } from '../integration/run-fixtures.js';

const dovecot = useServer(startDovecot);
const smtp = useServer(startSmtp);
const cleanups = afterEachTest();

async function slowed(port: number, bytesPerSecond: number): Promise<number> {
  const proxy = await throttle(port, bytesPerSecond);
  cleanups.push(proxy.close);
  return proxy.port;
}

function home(accounts: unknown[]): string {
  const { home: dir, cleanup } = tmpHome();
  cleanups.push(cleanup);
  writeConfig(dir, { version: 1, accounts, filters: [] });
  return dir;
}

const env = { MBX_PW: 'alice-secret' };
const plain = { user: 'alice', secret: { kind: 'env', name: 'MBX_PW' }, security: 'none', host: '127.0.0.1' };

const count = (dir: string, box: Box = 'inbox') => storedCount(dir, box);

async function onServer(user: string): Promise<Set<string>> {
  const out = await dovecot().doveadm(['-f', 'flow', 'fetch', '-u', user, 'hdr.message-id', 'mailbox', 'INBOX', 'all']);
  return new Set([...out.matchAll(/<([^>]+)>/g)].map((m) => m[1]!));
}

function expectEachOnce(dir: string, n: number): void {
  const stored = storedMessages(dir);
  expect(stored.size).toBe(n);
  for (let i = 1; i <= n; i++) expect(stored.get(`m${i}@test`)?.length, `m${i}@test`).toBe(1);
}

describe('SIGKILL while downloading, then a new run', () => {
  it('IMAP: every message stored exactly once', async () => {
    const N = 400;
    await bulkDeliver(dovecot(), 'alice', numbered(N, 1500));
    const port = await slowed(dovecot().imapPort, 300_000);
    const dir = home([{ ...plain, name: 'imap', type: 'imap', port }]);
    const kills: boolean[] = [];
    for (const at of [1, 120, 260]) kills.push(await killWhen(dir, env, () => count(dir) >= at));
    expect(kills.filter(Boolean).length).toBeGreaterThanOrEqual(2); // the kills did land mid-download
    expect((await runMailbox(['run', '--once'], { home: dir, env, timeoutMs: 60_000 })).code).toBe(0);
    expectEachOnce(dir, N);
    expect(JSON.parse((await runMailbox(['emails', '--json'], { home: dir })).stdout)).toHaveLength(N);
  });

  it('POP3 with delete after download: nothing leaves the server before it is stored', async () => {
    const N = 400;
    const messages = numbered(N, 1500);
    await bulkDeliver(dovecot(), 'bob', messages);
    const port = await slowed(dovecot().pop3Port, 300_000);
    const dir = home([{ ...plain, user: 'bob', secret: { kind: 'env', name: 'BOB_PW' }, name: 'pop', type: 'pop3', port, deleteAfterDownload: true }]);
    Object.assign(env, { BOB_PW: 'bob-secret' });
    const kills: boolean[] = [];
    for (const at of [1, 150, 300]) {
      kills.push(await killWhen(dir, env, () => count(dir) >= at));
      const remaining = await onServer('bob');
      const stored = storedMessages(dir);
      for (let i = 1; i <= N; i++) {
        const id = `m${i}@test`;
        if (!remaining.has(id)) expect(stored.has(id), `${id} left the server unstored`).toBe(true);
      }
    }
    expect(kills.filter(Boolean).length).toBeGreaterThanOrEqual(2);
    expect((await runMailbox(['run', '--once'], { home: dir, env, timeoutMs: 60_000 })).code).toBe(0);
    expectEachOnce(dir, N);
    expect((await onServer('bob')).size).toBe(0);
  });
});

describe('SIGKILL while sending', () => {
  it('loses nothing from the outbox: every message is sent, at worst one in flight twice', async () => {
    const N = 300;
    const { home: dir, cleanup } = tmpHome();
    cleanups.push(cleanup);
    const port = await slowed(smtp().smtpPort, 400_000);
    writeConfig(dir, { version: 1, accounts: [{ ...plain, name: 'out', type: 'smtp', port, from: 'alice@example.test' }], filters: [] });
    const stores = await openTestStores(dir);
    cleanups.push(() => void stores.close());
    const { queue } = stores;
    for (let i = 1; i <= N; i++) {
      await queue.enqueue(Buffer.from(`Message-ID: <s${i}@test>\r\nFrom: alice@example.test\r\nTo: bob@example.test\r\nSubject: s${i}\r\n\r\n${'z'.repeat(2000)}\r\n`), {
        account: 'out',
        recipients: ['bob@example.test'],
      });
    }
    const before = smtp().messages().length;
    const killed = await killWhen(dir, env, () => smtp().messages().length - before >= 100);
    expect(killed).toBe(true);
    expect(count(dir, 'outbox')).toBeGreaterThan(0);
    expect((await runMailbox(['run', '--once'], { home: dir, env, timeoutMs: 60_000 })).code).toBe(0);
    const received = smtp().messages().slice(before).map((m) => /Message-ID: <([^>]+)>/.exec(m.raw.toString())![1]!);
    const distinct = new Set(received);
    expect(distinct.size).toBe(N);
    expect(received.length - N).toBeLessThanOrEqual(16); // resent: only what was in flight at the kill
    expect(count(dir, 'outbox')).toBe(0);
    expect(count(dir, 'sent')).toBe(N);
  });
});
