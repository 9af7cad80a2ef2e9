// The runner as a scheduler, on the memory store with in-memory servers: every way out releases the
// lock and saves the status; the first fatal error stops both loops at once; --once exits with the
// code of the first account that failed; recovery runs at every start.
import { describe, expect, it } from 'vitest';
import type { Account, AccountView } from '../../src/core/account.js';
import { MailboxError } from '../../src/core/errors.js';
import type { CycleReport } from '../../src/jobs/cycles.js';
import { Runner, type RunnerDeps, type Snapshot } from '../../src/jobs/runner.js';
import { openMemoryStores, type MemoryStores } from '../../src/store/memory/index.js';
import { FakeImap, FakeSmtp, mail } from '../helpers/fake-mail.js';

const base = { host: 'h', security: 'tls', auth: 'password', active: true, debug: false, tls: {}, provisioned: false, secret: { kind: 'env', name: 'PW' } } as const;
const imap = (name: string, over: Partial<Account> = {}): AccountView => ({ ...base, name, type: 'imap', port: 993, folder: 'INBOX', ...over });
const smtp: AccountView = { ...base, name: 'out', type: 'smtp', port: 465, from: 'a@example.test' };

interface Harness {
  stores: MemoryStores;
  runner: Runner;
  reports: CycleReport[];
  notices: string[];
  servers: Map<string, FakeImap>;
  smtp: FakeSmtp;
}

function harness(snapshot: () => Promise<Snapshot>, over: Partial<RunnerDeps> = {}): Harness {
  const stores = openMemoryStores();
  const reports: CycleReport[] = [];
  const notices: string[] = [];
  const servers = new Map<string, FakeImap>();
  const out = new FakeSmtp();
  const runner = new Runner({
    stores,
    snapshot,
    secrets: { resolve: async () => 'pw' },
    adapters: {
      openIncoming: async (account) => {
        if (account.host === 'down') throw new MailboxError('EUNREACHABLE', `account ${account.name}: connection refused`);
        if (account.host === 'locked') throw new MailboxError('EAUTH', `account ${account.name}: authentication failed`);
        let server = servers.get(account.name);
        if (!server) servers.set(account.name, (server = new FakeImap()));
        return server;
      },
      openOutgoing: async () => out,
      preload: () => undefined,
      sendFailure: (err) => (err instanceof MailboxError ? err : new MailboxError('EUNREACHABLE', String(err))),
    },
    debugLog: async () => undefined,
    clock: () => new Date(),
    monotonic: () => performance.now(),
    report: (r) => reports.push(r),
    notice: (n) => notices.push(n),
    ...over,
  });
  return { stores, runner, reports, notices, servers, smtp: out };
}

const forever = (signal: AbortSignal) => ({ once: false, readIntervalMs: 5, sendIntervalMs: 60_000, accounts: [], signal });

describe('runner', () => {
  it('--once: one read and one send cycle, the lock released and the status saved', async () => {
    const h = harness(async () => ({ accounts: [imap('work'), smtp], filters: [] }));
    await h.stores.queue.enqueue(mail(9), { account: 'out', recipients: ['b@example.test'] });
    const code = await h.runner.run({ once: true, readIntervalMs: 1, sendIntervalMs: 1, accounts: [], signal: new AbortController().signal });
    expect(code).toBe(0);
    expect(h.reports.map((r) => `${r.job} ${r.account} ${r.ok}`).sort()).toEqual(['read work true', 'send out true']);
    expect(h.smtp.sent.length).toBe(1);
    expect(await h.stores.lock.holder()).toBeNull();
    expect(Object.keys(h.stores.status.status.accounts).sort()).toEqual(['out', 'work']);
  });

  it('--once exits with the code of the first account (in config order) that failed', async () => {
    const h = harness(async () => ({ accounts: [imap('fine'), imap('auth', { host: 'locked' }), imap('gone', { host: 'down' })], filters: [] }));
    expect(await h.runner.run({ once: true, readIntervalMs: 1, sendIntervalMs: 1, accounts: [], signal: new AbortController().signal })).toBe(77);
    expect(h.reports.filter((r) => !r.ok).map((r) => r.account).sort()).toEqual(['auth', 'gone']);
  });

  it('a config that breaks while it runs stops both loops at once: the error is thrown, the lock released, the status kept', async () => {
    let calls = 0;
    const h = harness(async () => {
      if (++calls > 3) throw new MailboxError('ECONFIG', 'config.json: not valid JSON');
      return { accounts: [imap('work'), smtp], filters: [] };
    });
    const started = performance.now();
    // The send loop sleeps a minute between cycles: the read loop's failure must not wait for it.
    await expect(h.runner.run(forever(new AbortController().signal))).rejects.toMatchObject({ code: 'ECONFIG' });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await h.stores.lock.holder()).toBeNull();
    expect(h.stores.status.status.accounts.work?.ok).toBe(true);
  });

  it('accounts that cannot be read for a moment (a database store restarting: 75 or 69) are read again next cycle', async () => {
    let calls = 0;
    const h = harness(async () => {
      calls++;
      if (calls === 3) throw new MailboxError('ETEMPFAIL', 'database postgres://db/mailbox: the connection was lost');
      if (calls === 4) throw new MailboxError('EUNREACHABLE', 'database postgres://db/mailbox is unreachable: connection refused');
      return { accounts: [imap('work')], filters: [] };
    });
    const stop = new AbortController();
    const running = h.runner.run(forever(stop.signal));
    while (calls < 8) await new Promise((r) => setTimeout(r, 5));
    stop.abort();
    expect(await running).toBe(0);
    expect(h.notices.filter((n) => n.endsWith('trying again next cycle'))).toHaveLength(2);
    expect(h.reports.filter((r) => r.account === 'work').length).toBeGreaterThanOrEqual(4);
    // With --once there is no next cycle: the failure is the exit code.
    const once = harness(async () => {
      throw new MailboxError('ETEMPFAIL', 'the connection was lost');
    });
    await expect(once.runner.run({ once: true, readIntervalMs: 1, sendIntervalMs: 1, accounts: [], signal: new AbortController().signal })).rejects.toMatchObject({ exitCode: 75 });
  });

  it('an account named on the command line that disappears stops the runner with 66', async () => {
    let accounts: AccountView[] = [imap('work'), imap('other')];
    const h = harness(async () => ({ accounts, filters: [] }));
    const running = h.runner.run({ ...forever(new AbortController().signal), accounts: ['work'] });
    await new Promise((r) => setTimeout(r, 20));
    accounts = [imap('other')];
    const started = performance.now();
    await expect(running).rejects.toMatchObject({ code: 'ENOTFOUND', exitCode: 66 });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await h.stores.lock.holder()).toBeNull();
    expect(h.reports.every((r) => r.account === 'work')).toBe(true);
  });

  it('a stop returns 0 with the lock released; a store another runner holds is refused before anything runs', async () => {
    const h = harness(async () => ({ accounts: [imap('work')], filters: [] }));
    const stop = new AbortController();
    const running = h.runner.run(forever(stop.signal));
    await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    expect(await running).toBe(0);
    expect(await h.stores.lock.holder()).toBeNull();

    h.stores.lock.held = 4242;
    h.reports.length = 0;
    await expect(h.runner.run({ ...forever(new AbortController().signal), once: true })).rejects.toMatchObject({ code: 'ELOCKED' });
    expect(h.reports).toEqual([]);
    expect(h.stores.lock.held).toBe(4242);
  });

  it('recovers at every start, handing the store every incoming account, active or not', async () => {
    const h = harness(async () => ({ accounts: [imap('work'), imap('idle', { active: false }), smtp], filters: [] }));
    const seen: string[][] = [];
    h.stores.recover = async (accounts) => (seen.push(accounts.map((a) => a.name)), ['1 message recognised']);
    for (let i = 0; i < 2; i++) await h.runner.run({ once: true, readIntervalMs: 1, sendIntervalMs: 1, accounts: [], signal: new AbortController().signal });
    expect(seen).toEqual([
      ['work', 'idle'],
      ['work', 'idle'],
    ]);
    expect(h.notices).toEqual(['1 message recognised', '1 message recognised']);
  });

  it('reads on its interval, each cycle a report, and keeps nothing per cycle', async () => {
    const h = harness(async () => ({ accounts: [imap('work')], filters: [] }));
    const stop = new AbortController();
    const running = h.runner.run(forever(stop.signal));
    await new Promise((r) => setTimeout(r, 5));
    h.servers.get('work')!.add(mail(1), mail(2));
    await new Promise((r) => setTimeout(r, 60));
    stop.abort();
    await running;
    expect(h.reports.length).toBeGreaterThan(3);
    expect(h.reports.reduce((n, r) => n + (r.counts.received ?? 0), 0)).toBe(2);
  });
});

describe('runner: the operating settings (issue 16)', () => {
  const once = { once: true, readIntervalMs: 1, sendIntervalMs: 1, accounts: [], signal: new AbortController().signal };

  it('paused: no read, no send, the queue kept send-ready untouched; every line says what is paused', async () => {
    let settings: Record<string, string> = { reading: 'off', sending: 'off' };
    const h = harness(async () => ({ accounts: [imap('work'), smtp], filters: [], config: { settings } }));
    const record = await h.stores.queue.enqueue(mail(1), { account: 'out', recipients: ['b@example.test'] });
    expect(await h.runner.run(once)).toBe(0);
    expect(h.servers.size).toBe(0); // never connected
    expect(h.smtp.sent).toEqual([]);
    expect((await h.stores.log.readAll()).get(record.id)).toMatchObject({ state: 'send-ready', attempts: 0 });
    expect(h.reports.map((r) => [r.job, r.summary, r.paused])).toEqual(
      expect.arrayContaining([
        ['read', 'reading paused: nothing read (mailbox resume reading)', ['reading', 'sending']],
        ['send', 'sending paused: 1 waiting in the outbox, kept send-ready (mailbox resume sending)', ['reading', 'sending']],
      ]),
    );
    // Not recorded as a read or a send: status keeps the last real cycle.
    expect(h.stores.status.status.accounts).toEqual({});
    settings = { reading: 'off' };
    h.reports.length = 0;
    expect(await h.runner.run(once)).toBe(0);
    expect(h.smtp.sent.length).toBe(1);
    expect(h.reports.find((r) => r.job === 'send')).toMatchObject({ summary: '1 sent', paused: ['reading'] });
  });

  it('redirect-to: the envelope is the test address, the header names the recipients, the record says so', async () => {
    const h = harness(async () => ({ accounts: [smtp], filters: [], config: { settings: { 'redirect-to': 'test@example.test' } } }));
    const record = await h.stores.queue.enqueue(mail(2), { account: 'out', recipients: ['b@example.test', 'c@example.test'] });
    expect(await h.runner.run(once)).toBe(0);
    expect(h.smtp.sent[0]!.to).toEqual(['test@example.test']);
    expect(h.smtp.sent[0]!.body.toString()).toBe(`X-Mailbox-Original-Recipients: b@example.test, c@example.test\r\n${mail(2).toString()}`);
    expect((await h.stores.log.readAll()).get(record.id)!.delivery).toEqual({ sentTo: ['test@example.test'], dropped: [], refused: [], redirectedTo: 'test@example.test' });
    expect(h.reports[0]).toMatchObject({ redirectTo: 'test@example.test' });
  });

  it('max-per-minute: a cycle sends no more than the minute allows, counting what was sent before', async () => {
    const throttled = { ...smtp, maxPerMinute: 3 };
    const h = harness(async () => ({ accounts: [throttled], filters: [] }));
    for (let i = 0; i < 5; i++) await h.stores.queue.enqueue(mail(i), { account: 'out', recipients: ['b@example.test'] });
    expect(await h.runner.run(once)).toBe(0);
    expect(h.smtp.sent.length).toBe(3);
    expect(h.reports[0]).toMatchObject({ counts: { sent: 3, throttled: 2, waiting: 2 } });
    expect(h.reports[0]!.summary).toBe('3 sent, 2 waiting, 2 waiting for the throttle (max 3 messages a minute)');
    expect(await h.runner.run(once)).toBe(0);
    expect(h.smtp.sent.length).toBe(3);
  });

  it('inbound guards: skipped with the guard as the reason; the loop guard knows what this store sent', async () => {
    const h = harness(async () => ({ accounts: [imap('work'), smtp], filters: [] }));
    const ours = await h.stores.queue.enqueue(mail(50), { account: 'out', recipients: ['b@example.test'] });
    expect(await h.runner.run(once)).toBe(0);
    h.servers.get('work')!.add(mail(50), Buffer.from('Message-ID: <x@test>\r\nAuto-Submitted: auto-generated\r\nSubject: a\r\n\r\nx\r\n'), mail(51));
    h.reports.length = 0;
    expect(await h.runner.run(once)).toBe(0);
    expect(h.reports.find((r) => r.job === 'read')).toMatchObject({ counts: { received: 1, ignored: 2 } });
    const reasons = [...(await h.stores.log.readAll()).values()].filter((r) => r.state === 'received-ignored').map((r) => r.error);
    expect(reasons).toEqual(expect.arrayContaining([`guard loop: this mailbox sent Message-ID <${ours.messageId}> itself (mail came back)`, 'guard auto-submitted: an automatic message (Auto-Submitted: auto-generated)']));
  });

  it('the loop guard reads the email log once per runner, then learns what the runner sends', async () => {
    const h = harness(async () => ({ accounts: [imap('work'), smtp], filters: [] }));
    let scans = 0;
    const scan = h.stores.log.scan.bind(h.stores.log);
    h.stores.log.scan = (visit) => (scans++, scan(visit));
    h.servers.set('work', new (await import('../helpers/fake-mail.js')).FakeImap());
    h.servers.get('work')!.add(mail(1));
    // Whether the read loads the set before or after the send, the second run does not read the log again.
    await h.stores.queue.enqueue(mail(60), { account: 'out', recipients: ['b@example.test'] });
    expect(await h.runner.run(once)).toBe(0);
    h.servers.get('work')!.add(mail(60));
    expect(await h.runner.run(once)).toBe(0);
    expect([...(await h.stores.log.readAll()).values()].find((r) => r.state === 'received-ignored')?.error).toContain('guard loop');
    expect(scans).toBe(1);
  });

  it('writes a heartbeat with its intervals, and says when it stopped', async () => {
    const h = harness(async () => ({ accounts: [], filters: [] }));
    expect(await h.runner.run({ ...once, pid: 4242, readIntervalMs: 7000 })).toBe(0);
    expect(h.stores.status.status.runner).toMatchObject({ pid: 4242, readIntervalMs: 7000, heartbeatAt: expect.any(String), stoppedAt: expect.any(String) });
  });
});

describe('runner as a fleet worker (a store whose lock hands out shares)', () => {
  it('reads only the accounts of its share, at most `concurrency` at once, and says once on stderr and in a cycle line that a lease was taken', async () => {
    const h = harness(async () => ({ accounts: [imap('a'), imap('b'), imap('c'), imap('d')], filters: [] }));
    const shares = [
      { accounts: new Set(['a', 'b', 'c']), lost: [] as string[] },
      { accounts: new Set(['a', 'c']), lost: ['b'] },
      { accounts: new Set(['a', 'c']), lost: [] as string[] },
    ];
    const asked: string[][] = [];
    let open = 0;
    let most = 0;
    const held = { tookOverFrom: null, concurrency: 2, release: async () => undefined, share: async (names: readonly string[]) => (asked.push([...names]), shares[Math.min(asked.length, shares.length) - 1]!) };
    h.stores.lock.acquire = async () => held;
    const openIncoming = h.runner['deps'].adapters.openIncoming;
    h.runner['deps'].adapters.openIncoming = async (account, options) => {
      most = Math.max(most, ++open);
      await new Promise((r) => setTimeout(r, 5));
      open--;
      return openIncoming(account, options);
    };
    const stop = new AbortController();
    const running = h.runner.run(forever(stop.signal));
    while (asked.length < 3) await new Promise((r) => setTimeout(r, 5));
    stop.abort();
    expect(await running).toBe(0);
    expect(asked[0]!.sort()).toEqual(['a', 'b', 'c', 'd']);
    const reads = h.reports.filter((r) => r.job === 'read');
    expect(reads.some((r) => r.account === 'd')).toBe(false);
    expect(reads.filter((r) => r.account === 'b' && r.ok).length).toBe(1);
    const lost = reads.filter((r) => !r.ok);
    expect(lost).toMatchObject([{ account: 'b', error: { code: 'ELOCKED' }, summary: expect.stringContaining('another worker took its lease over') }]);
    expect(h.notices.filter((n) => n.includes('another worker took its lease over'))).toHaveLength(1);
    // Not recorded as the account's status: the worker holding it now records its own.
    expect(h.stores.status.status.accounts.b?.ok).toBe(true);
    expect(most).toBeLessThanOrEqual(2);
  });
});
