// Issue 9 items 5 and 7: SMTP refusals as what they are, the same in `mailbox test --send-to` and in
// the sender. 530 "authentication required" (and a relay refused to a client that did not log in)
// is the account's fault: 77 with the fix "auth password", the cycle stops, the message waits; 530
// "STARTTLS first" is a TLS setting (76). A refused recipient is named; a message whose recipients
// are all refused fails with each reply; one with some refused is sent and records them. The record
// keeps the envelope the server accepted apart from the recipients dropped by the outbound filter.
import { afterEach, describe, expect, it } from 'vitest';
import { hintText } from '../../src/cli/hints.js';
import type { Account } from '../../src/core/account.js';
import type { AddressFilter } from '../../src/core/filter.js';
import { probeAccount, type ProbeResult } from '../../src/protocols/probe/index.js';
import { startSmtp } from '../harness/index.js';
import { useServer } from '../helpers/file-servers.js';
import { smtpHousekeeping } from '../harness/login-servers.js';
import { serveCommands } from '../harness/scripted-server.js';
import { scriptedAccount, scriptedServers } from '../helpers/robustness.js';
import { smtpAccount, testRunner, type TestRunner } from './run-fixtures.js';

const serve = scriptedServers();
const smtp = useServer(startSmtp);
let t: TestRunner | undefined;

afterEach(() => {
  t?.cleanup();
  t = undefined;
});

/** An account that sends without logging in, to the harness server, which requires a login to send. */
function anonymous(over: Partial<Account> = {}): Account {
  const { user: _user, secret: _secret, ...rest } = smtpAccount(smtp(), { auth: 'none', ...over });
  return rest;
}

function probe(account: Account, sendTo: string): Promise<ProbeResult> {
  return probeAccount(account, { secret: async () => 'alice-secret', timeoutMs: 5000, sendTo });
}

/** A scripted SMTP server that answers `verb` with `reply`, and everything else as a server that takes mail. */
function refusing(verb: 'AUTH' | 'MAIL' | 'RCPT', reply: string) {
  return serve(async (c) => {
    c.line('220 scripted ESMTP');
    await serveCommands(c, {
      EHLO: () => (c.line('250-scripted'), c.line('250 AUTH PLAIN')),
      AUTH: () => c.line(verb === 'AUTH' ? reply : '235 ok'),
      MAIL: () => c.line(verb === 'MAIL' ? reply : '250 ok'),
      RCPT: () => c.line(verb === 'RCPT' ? reply : '250 ok'),
      ...smtpHousekeeping(c),
    });
  });
}

async function queue(t: TestRunner, to: string[]): Promise<string> {
  const raw = Buffer.from(`From: alice@example.test\r\nTo: ${to.join(', ')}\r\nSubject: refusals\r\n\r\nbody\r\n`);
  return (await t.stores.queue.enqueue(raw, { account: 'out', recipients: to })).id;
}

async function sendCycle(t: TestRunner, account: Account, filters: AddressFilter[] = []) {
  const report = await t.runner.sendCycle(account, filters, new AbortController().signal);
  if (!report) throw new Error('no report');
  return report;
}

describe('mailbox test --send-to', () => {
  it('530 authentication required (a real server, an account that does not log in): 77, fix auth password', async () => {
    const r = await probe(anonymous(), 'bob@example.test');
    expect(r).toMatchObject({ exitCode: 77, error: { code: 'EAUTH', fixes: [{ field: 'auth', value: 'password' }] } });
    expect(r.stages.at(-1)!.name).toBe('send');
    expect(r.error!.message).toMatch(/the server requires authentication before MAIL FROM: 530/);
    expect(hintText(r.error!)).toMatch(/log in.*: mailbox edit out --auth password$/);
  });

  it('a relay refused to an account that does not log in is the same: 77, fix auth password', async () => {
    const srv = await refusing('RCPT', '554 5.7.1 <bob@example.test>: Relay access denied');
    const r = await probe(scriptedAccount(srv, 'smtp', { auth: 'none', user: undefined, secret: undefined, from: 'alice@example.test' }), 'bob@example.test');
    expect(r).toMatchObject({ exitCode: 77, error: { code: 'EAUTH', fixes: [{ field: 'auth', value: 'password' }] } });
  });

  it('530 STARTTLS first, to MAIL or to AUTH: a TLS setting (76), fix security starttls or tls', async () => {
    for (const verb of ['MAIL', 'AUTH'] as const) {
      const srv = await refusing(verb, '530 5.7.0 Must issue a STARTTLS command first');
      const r = await probe(scriptedAccount(srv, 'smtp', { from: 'alice@example.test' }), 'bob@example.test');
      expect(r, verb).toMatchObject({ exitCode: 76, error: { code: 'ETLS', fixes: [{ field: 'security', value: 'starttls' }, { field: 'security', value: 'tls' }] } });
      expect(r.error!.message).toContain('the server requires TLS before');
    }
  });

  it('a refused sender names the From address (78, fix from)', async () => {
    const srv = await refusing('MAIL', '553 5.7.1 <alice@example.test>: Sender address rejected: not owned by user alice');
    const r = await probe(scriptedAccount(srv, 'smtp', { from: 'alice@example.test' }), 'bob@example.test');
    expect(r).toMatchObject({ exitCode: 78, error: { code: 'ECONFIG', fixes: [{ field: 'from', value: 'ADDRESS' }] } });
    expect(r.error!.message).toContain('the server refused the sender alice@example.test: 553');
  });
});

describe('mailbox run: the sender', () => {
  it('530 authentication required stops the cycle with 77 and the fix; the message waits for its retry (not failed)', async () => {
    const account = anonymous();
    t = testRunner(() => [{ ...account, provisioned: false }]);
    const id = await queue(t, ['bob@example.test']);
    const report = await sendCycle(t, account);
    expect(report.ok).toBe(false);
    expect(report.error).toMatchObject({ code: 'EAUTH', exitCode: 77, fixes: [{ field: 'auth', value: 'password' }] });
    expect((await t.stores.log.readAll()).get(id)).toMatchObject({ state: 'send-retry-backoff', attempts: 1 });
  });

  it('every recipient refused: failed with each recipient and reply named, and recorded as refused', async () => {
    const account = smtpAccount(smtp());
    t = testRunner(() => [account]);
    const id = await queue(t, ['reject1@example.test', 'reject2@example.test']);
    const report = await sendCycle(t, account);
    expect(report).toMatchObject({ ok: true, counts: { sent: 0, failed: 1 } });
    const record = (await t.stores.log.readAll()).get(id)!;
    expect(record.state).toBe('send-failed');
    expect(record.error).toMatch(/^every recipient was refused: reject1@example\.test \(550 5\.1\.1 .*\), reject2@example\.test \(550 5\.1\.1 .*\)$/);
    expect(record.delivery).toEqual({
      sentTo: [],
      dropped: [],
      refused: [
        { address: 'reject1@example.test', reply: expect.stringMatching(/^550 5\.1\.1/) },
        { address: 'reject2@example.test', reply: expect.stringMatching(/^550 5\.1\.1/) },
      ],
    });
  });

  it('some recipients refused: sent to the others, the refused ones recorded apart from the reply', async () => {
    const account = smtpAccount(smtp());
    t = testRunner(() => [account]);
    const before = smtp().messages().length;
    const id = await queue(t, ['bob@example.test', 'reject1@example.test', 'defer1@example.test']);
    expect(await sendCycle(t, account)).toMatchObject({ ok: true, counts: { sent: 1 } });
    expect(smtp().messages().slice(before).map((m) => m.to)).toEqual([['bob@example.test']]);
    const record = (await t.stores.log.readAll()).get(id)!;
    expect(record).toMatchObject({ state: 'sent', reply: expect.stringMatching(/^250 .*Queued as/) });
    expect(record.reply).not.toContain('refused');
    expect(record.delivery).toEqual({
      sentTo: ['bob@example.test'],
      dropped: [],
      refused: [
        { address: 'reject1@example.test', reply: expect.stringMatching(/^550 5\.1\.1/) },
        { address: 'defer1@example.test', reply: expect.stringMatching(/^451 4\.3\.0/) },
      ],
    });
  });

  it('the outbound filter: the envelope sent and the dropped recipients apart, with the filter and the pattern', async () => {
    const filter: AddressFilter = { name: 'outside', direction: 'outbound', allow: [], deny: ['*.blocked.test', 'blocked.test'], default: true };
    const account = smtpAccount(smtp());
    t = testRunner(() => [account], [filter]);
    const mixed = await queue(t, ['bob@example.test', 'carol@example.test', 'someone@blocked.test']);
    const none = await queue(t, ['eve@mx.blocked.test']);
    await sendCycle(t, account, [filter]);
    const all = await t.stores.log.readAll();
    expect(all.get(mixed)).toMatchObject({
      state: 'sent',
      recipients: ['bob@example.test', 'carol@example.test', 'someone@blocked.test'],
      delivery: { sentTo: ['bob@example.test', 'carol@example.test'], dropped: [{ address: 'someone@blocked.test', filter: 'outside', pattern: 'blocked.test' }], refused: [] },
    });
    expect(all.get(none)).toMatchObject({
      state: 'send-ignored',
      delivery: { sentTo: [], dropped: [{ address: 'eve@mx.blocked.test', filter: 'outside', pattern: '*.blocked.test' }], refused: [] },
    });
  });
});
