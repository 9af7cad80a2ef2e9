// The sender against the project's SMTP server: one pooled connection for the whole queue,
// byte-exact DATA, 451 -> retry with back-off, 550 -> failed with the reply kept, the outbound
// filter, a server that is down, a wrong password.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Account } from '../../src/core/account.js';
import type { AddressFilter } from '../../src/core/filter.js';
import type { CycleReport } from '../../src/jobs/cycles.js';
import { closedPort, startSmtp } from '../harness/index.js';
import { useServer } from '../helpers/file-servers.js';
import { idsIn, smtpAccount, testRunner, type TestRunner } from './run-fixtures.js';

const smtp = useServer(startSmtp);
let t: TestRunner | undefined;

afterEach(() => {
  t?.cleanup();
  t = undefined;
});

function message(to: string, subject: string, extra = ''): Buffer {
  return Buffer.from(`From: alice@example.test\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@test>\r\n\r\n.dot line\r\n\xe9 8-bit${extra}\r\n`, 'latin1');
}

async function queue(t: TestRunner, to: string[], subject: string, extra = ''): Promise<string> {
  const record = await t.stores.queue.enqueue(message(to.join(', '), subject, extra), { account: 'out', recipients: to });
  return record.id;
}

/** One send cycle; with an SMTP account there is always a report. */
async function send(t: TestRunner, account: Account | undefined, filters: AddressFilter[] = []): Promise<CycleReport> {
  const report = await t.runner.sendCycle(account, filters, new AbortController().signal);
  if (!report) throw new Error('no report: nothing waited and no account was active');
  return report;
}
const records = async (t: TestRunner) => t.stores.log.readAll();

describe('sender', () => {
  it('sends the whole queue over one pooled connection, byte for byte, and keeps the reply', async () => {
    const account = smtpAccount(smtp(), { debug: true });
    t = testRunner(() => [account]);
    const before = smtp().messages().length;
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) ids.push(await queue(t, ['bob@example.test'], `pooled${i}`));
    const report = await send(t, account);
    expect(report).toMatchObject({ ok: true, counts: { sent: 60, failed: 0, retrying: 0, waiting: 0 } });
    const received = smtp().messages().slice(before);
    expect(received).toHaveLength(60);
    expect(received[0]).toMatchObject({ from: 'alice@example.test', to: ['bob@example.test'], user: 'alice', tls: true });
    expect(received.map((m) => m.raw.toString('latin1')).sort()).toEqual(ids.map((_, i) => message('bob@example.test', `pooled${i}`).toString('latin1')).sort());
    const log = fs.readFileSync(path.join(t.home, 'state', 'logs', 'out.log'), 'utf8');
    expect(log.match(/Created new pool resource/g)).toHaveLength(1);
    const all = await records(t);
    for (const id of ids) expect(all.get(id)).toMatchObject({ state: 'sent', attempts: 1, account: 'out', reply: expect.stringMatching(/^250/) });
    expect(idsIn(t.home, 'sent').length).toBe(60);
    expect(idsIn(t.home, 'outbox')).toEqual([]);
  });

  it('retries a 451 with back-off, fails a 550 keeping the reply, and sends the rest', async () => {
    const account = smtpAccount(smtp());
    t = testRunner(() => [account]);
    const deferred = await queue(t, ['defer1@example.test'], 'deferred');
    const rejected = await queue(t, ['reject1@example.test'], 'rejected');
    const fine = await queue(t, ['bob@example.test'], 'fine');
    const started = Date.now();
    const report = await send(t, account);
    expect(report).toMatchObject({ ok: true, counts: { sent: 1, failed: 1, retrying: 1, waiting: 1 } });
    const all = await records(t);
    expect(all.get(fine)!.state).toBe('sent');
    expect(all.get(rejected)).toMatchObject({ state: 'send-failed', attempts: 1, error: 'the recipient was refused: reject1@example.test (550 5.1.1 Recipient rejected (test))' });
    const retry = all.get(deferred)!;
    expect(retry).toMatchObject({ state: 'send-retry-backoff', attempts: 1, error: 'the recipient was refused: defer1@example.test (451 4.3.0 Try again later (test))' });
    const wait = Date.parse(retry.nextAttempt!) - started;
    expect(wait).toBeGreaterThanOrEqual(59_000);
    expect(wait).toBeLessThan(2 * 60_000);
    expect(idsIn(t.home, 'failed')).toEqual([rejected]);
    // Not due yet: the next cycle leaves it alone.
    expect(await send(t, account)).toMatchObject({ counts: { sent: 0, retrying: 0, waiting: 1 } });
    expect((await records(t)).get(deferred)!.attempts).toBe(1);
  });

  it('drops recipients blocked by the outbound filter, and ignores a message left with none', async () => {
    const filter: AddressFilter = { name: 'outside', direction: 'outbound', allow: [], deny: ['blocked.test'], default: true };
    const account = smtpAccount(smtp());
    t = testRunner(() => [account], [filter]);
    const before = smtp().messages().length;
    const mixed = await queue(t, ['bob@example.test', 'eve@blocked.test'], 'mixed');
    const none = await queue(t, ['eve@blocked.test'], 'none');
    const report = await send(t, account, [filter]);
    expect(report).toMatchObject({ ok: true, counts: { sent: 1, ignored: 1, dropped: 2 } });
    expect(report.notes.join('\n')).toContain('eve@blocked.test (filter outside)');
    const received = smtp().messages().slice(before);
    expect(received.map((m) => m.to)).toEqual([['bob@example.test']]);
    const all = await records(t);
    expect(all.get(mixed)!.state).toBe('sent');
    expect(all.get(none)).toMatchObject({ state: 'send-ignored', error: expect.stringContaining('blocked by filter outside') });
    expect(idsIn(t.home, 'skipped')).toEqual([none]);
  });

  it('a server that is down fails the cycle (69) and the message waits for its retry', async () => {
    const port = await closedPort();
    const account = smtpAccount(smtp(), { port });
    t = testRunner(() => [account]);
    const id = await queue(t, ['bob@example.test'], 'down');
    const report = await send(t, account);
    expect(report).toMatchObject({ ok: false, counts: { sent: 0, retrying: 1 } });
    expect(report.error?.exitCode).toBe(69);
    expect((await records(t)).get(id)).toMatchObject({ state: 'send-retry-backoff', attempts: 1 });
  });

  it('a wrong password fails the cycle with 77 and no secret in the report', async () => {
    const account = smtpAccount(smtp());
    t = testRunner(() => [account], [], 'not-the-password');
    await queue(t, ['bob@example.test'], 'badauth');
    const report = await send(t, account);
    expect(report.ok).toBe(false);
    expect(report.error?.exitCode).toBe(77);
    expect(JSON.stringify(report)).not.toContain('not-the-password');
  });

  it('without an active SMTP account, says why the queue waits', async () => {
    t = testRunner(() => []);
    await queue(t, ['bob@example.test'], 'waiting');
    const report = await send(t, undefined);
    expect(report).toMatchObject({ ok: true, counts: { waiting: 1 } });
    expect(report.summary).toMatch(/no SMTP account is active/);
  });
});
