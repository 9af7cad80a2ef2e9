// Issue 16 in core and jobs without I/O: the settings and what they accept, the inbound guards' verdicts,
// apply's plan for settings, and status --check's problems and exit codes in each state.
import { describe, expect, it } from 'vitest';
import type { AccountView } from '../../src/core/account.js';
import { MailboxError } from '../../src/core/errors.js';
import { guardOf, guardVerdict } from '../../src/core/guards.js';
import { planApply } from '../../src/core/plan.js';
import { emptyConfig } from '../../src/core/config.js';
import { parseAge, parseRetention, parseSetting, parseSettingKey, parseSettingsMap, settingsOf } from '../../src/core/settings.js';
import { SentMessageIds } from '../../src/jobs/cycles.js';
import { checkHealth, type HealthInput } from '../../src/jobs/health.js';
import { prune, retentionRules } from '../../src/jobs/retention.js';
import { openMemoryStores } from '../../src/store/memory/index.js';
import { mail } from '../helpers/fake-mail.js';

describe('settings', () => {
  it('normalises values and refuses others with 65, naming the key and what is accepted', () => {
    expect(parseSetting('reading', ' OFF ')).toBe('off');
    expect(parseSetting('redirect-to', ' test@example.com ')).toBe('test@example.com');
    expect(parseSetting('retention', 'sent = 90d, skipped=720h')).toBe('sent=90d,skipped=30d');
    expect(() => parseSetting('sending', 'paused')).toThrow('invalid sending "paused": expected on or off');
    expect(() => parseSetting('redirect-to', 'nobody')).toThrow(/invalid redirect-to "nobody"/);
    expect(() => parseSettingKey('colour')).toThrow(/invalid setting "colour": expected one of reading, sending, redirect-to/);
    for (const bad of ['outbox=1d', 'send-ready=1d', 'sent', 'sent=soon', 'sent=1d=2d', ''])
      expect(() => parseSetting('retention', bad), bad).toThrow(MailboxError);
    expect(parseRetention('failed=2w,send-failed=1d')).toEqual({ failed: 14 * 86_400_000, 'send-failed': 86_400_000 });
    expect(() => parseSettingsMap({ reading: true })).toThrow(/invalid reading/);
    // An age names both ends of its range.
    expect(() => parseAge('999999999w', 'max-read-age', 1000)).toThrow('invalid max-read-age "999999999w": expected an age from 1s to 36500d (a hundred years)');
    expect(() => parseAge('30s', 'older-than')).toThrow('expected an age from 1m to 36500d');
    expect(parseAge('36500d', 'older-than')).toBe(36500 * 86_400_000);
  });

  it('defaults: nothing paused, no redirect, every guard on, no retention', () => {
    expect(settingsOf(undefined)).toEqual({
      readingPaused: false,
      sendingPaused: false,
      redirectTo: null,
      guards: { 'auto-submitted': true, 'delivery-status': true, 'spam-flag': true, loop: true },
      retention: {},
    });
    expect(settingsOf({ sending: 'off', 'guard-loop': 'off' })).toMatchObject({ sendingPaused: true, guards: { loop: false, 'spam-flag': true } });
  });

  it('apply: the document sets, updates and (with prune) unsets keys; without settings it leaves them', () => {
    const current = { ...emptyConfig(), settings: { reading: 'off' as const, 'redirect-to': 'a@example.com' } };
    const none = { accounts: [], filters: [] };
    const plan = planApply(current, none, { ...none, settings: { 'redirect-to': 'b@example.com', sending: 'off' } }, { prune: false, source: 'doc' });
    expect(plan.settings).toEqual([
      { name: 'reading', action: 'unchanged', changes: [] },
      { name: 'sending', action: 'create', changes: [] },
      { name: 'redirect-to', action: 'update', changes: ['value'] },
    ]);
    expect(plan.config.settings).toEqual({ reading: 'off', 'redirect-to': 'b@example.com', sending: 'off' });
    const pruned = planApply(current, none, { ...none, settings: {} }, { prune: true, source: 'doc' });
    expect(pruned.settings.map((e) => e.action)).toEqual(['remove', 'remove']);
    expect(pruned.config.settings).toBeUndefined();
    const untouched = planApply(current, none, none, { prune: true, source: 'doc' });
    expect(untouched.settings).toEqual([]);
    expect(untouched.changed).toBe(false);
  });
});

describe('inbound guards', () => {
  const all = { 'auto-submitted': true, 'delivery-status': true, 'spam-flag': true, loop: true };
  const never = () => false;

  it('each guard, and what it lets through', () => {
    expect(guardVerdict({ messageId: null, autoSubmitted: 'auto-replied; owner-email="a@b"' }, all, never)?.guard).toBe('auto-submitted');
    expect(guardVerdict({ messageId: null, autoSubmitted: ' No ' }, all, never)).toBeNull();
    expect(guardVerdict({ messageId: null, contentType: 'multipart/report; report-type="delivery-status"; boundary=x' }, all, never)?.guard).toBe('delivery-status');
    expect(guardVerdict({ messageId: null, contentType: 'multipart/report; report-type=disposition-notification' }, all, never)).toBeNull();
    expect(guardVerdict({ messageId: null, spamFlag: 'yes' }, all, never)?.guard).toBe('spam-flag');
    expect(guardVerdict({ messageId: null, spamFlag: 'NO' }, all, never)).toBeNull();
    expect(guardVerdict({ messageId: 'm1@x' }, all, (id) => id === 'm1@x')?.reason).toBe('guard loop: this mailbox sent Message-ID <m1@x> itself (mail came back)');
    expect(guardVerdict({ messageId: null, spamFlag: 'YES' }, { ...all, 'spam-flag': false }, never)).toBeNull();
    expect(guardOf('guard spam-flag: marked as spam (X-Spam-Flag: YES)')).toBe('spam-flag');
    expect(guardOf('sender x is blocked by filter f (deny y)')).toBeNull();
  });
});

describe('status --check', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
  const base = { host: 'h', port: 993, security: 'tls', auth: 'password', active: true, debug: false, tls: {}, provisioned: false } as const;
  const work: AccountView = { ...base, name: 'work', type: 'imap' };
  const out: AccountView = { ...base, name: 'out', type: 'smtp', port: 465 };
  const beat = { pid: 10, startedAt: ago(3_600_000), heartbeatAt: ago(5_000), stoppedAt: null, readIntervalMs: 60_000, sendIntervalMs: 60_000 };
  const cycle = (over: object = {}) => ({ job: 'read' as const, at: ago(10_000), ok: true, summary: 'no new mail', error: null, lastSuccessAt: ago(10_000), lastError: null, ...over });
  const input = (over: Partial<HealthInput> = {}): HealthInput => ({
    accounts: [work, out],
    problems: new Map(),
    status: { accounts: { work: cycle() }, runner: beat },
    runnerPid: 10,
    waiting: [],
    settings: settingsOf(undefined),
    now,
    ...over,
  });

  it('0 and one line when mail flows', () => {
    const h = checkHealth(input());
    expect(h).toMatchObject({ ok: true, exitCode: 0, problems: [], limits: { maxReadAgeMs: 180_000 } });
    expect(h.summary).toBe('OK: runner up (pid 10), 1 account read within 3m, 0 queued');
  });

  it('each problem with its exit code; the worst decides', () => {
    const kinds = (i: HealthInput) => checkHealth(i).problems.map((p) => `${p.kind} ${p.exitCode}`);
    expect(kinds(input({ runnerPid: null }))).toEqual(['runner-down 69']);
    expect(kinds(input({ status: { accounts: { work: cycle() }, runner: { ...beat, heartbeatAt: ago(120_000) } } }))).toEqual(['runner-hung 69']);
    expect(kinds(input({ settings: settingsOf({ reading: 'off', sending: 'off' }) }))).toEqual(['paused 75', 'paused 75']);
    expect(kinds(input({ status: { accounts: { work: cycle({ lastSuccessAt: ago(600_000) }) }, runner: beat } }))).toEqual(['read-stale 75']);
    expect(kinds(input({ status: { accounts: { work: cycle({ ok: false, error: 'refused', exitCode: 69, lastSuccessAt: ago(600_000) }) }, runner: beat } }))).toEqual(['account-failing 69']);
    // A failure still inside the limit is not (yet) a problem; a refused login is, at once.
    expect(kinds(input({ status: { accounts: { work: cycle({ ok: false, error: 'refused', exitCode: 69 }) }, runner: beat } }))).toEqual([]);
    expect(kinds(input({ status: { accounts: { work: cycle({ ok: false, error: 'account work needs authorization', exitCode: 77 }) }, runner: beat } }))).toEqual(['needs-authorization 77']);
    expect(kinds(input({ problems: new Map([['work', new MailboxError('ECONFIG', 'filter gone')]]) }))).toEqual(['configuration 78']);
    // A cycle that met a configuration error (its secret's variable unset) is reported at once as well.
    expect(kinds(input({ status: { accounts: { work: cycle({ ok: false, error: 'environment variable NOT_IT is not set', exitCode: 78 }) }, runner: beat } }))).toEqual(['configuration 78']);
    const queued = { createdAt: ago(7_200_000), error: '451 later' } as never;
    expect(kinds(input({ waiting: [queued] }))).toEqual(['queue-stale 75']);
    expect(kinds(input({ waiting: [queued], maxQueueAgeMs: 10_000_000 }))).toEqual([]);
    // The worst: runner, then configuration, then authorization, then unreachable; warnings only: 75.
    const many = input({
      runnerPid: null,
      problems: new Map([['work', new MailboxError('ECONFIG', 'filter gone')]]),
      settings: settingsOf({ sending: 'off' }),
    });
    expect(checkHealth(many).exitCode).toBe(69);
    expect(checkHealth({ ...many, runnerPid: 10 }).exitCode).toBe(78);
    expect(checkHealth(input({ settings: settingsOf({ sending: 'off' }) })).summary).toBe('WARNING: 1 problem');
  });
});

describe('retention', () => {
  it('prunes by box or state, the state rule first; never the outbox', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const stores = openMemoryStores({ clock: () => now });
    const failed = await stores.queue.enqueue(mail(1), { account: 'out', recipients: ['b@x'] });
    const [claimed] = await stores.queue.claim(now, 1);
    await stores.queue.commit([await stores.queue.place(claimed!, { kind: 'failed', error: '550' }, now)]);
    await stores.queue.enqueue(mail(2), { account: 'out', recipients: ['b@x'] });
    now = new Date('2026-01-10T00:00:00Z');
    const rules = retentionRules(parseRetention('failed=30d,send-failed=5d'));
    const dry = await prune(stores, rules, now, true);
    expect(dry.removed.map((r) => r.id)).toEqual([failed.id]);
    expect((await stores.log.readAll()).has(failed.id)).toBe(true);
    const done = await prune(stores, rules, now);
    expect(done.removed.map((r) => r.id)).toEqual([failed.id]);
    expect((await stores.log.readAll()).size).toBe(1); // the second, still queued
    expect(await prune(stores, retentionRules({ sent: 1000 }), now)).toEqual({ dryRun: false, removed: [] });
  });
});

describe('run --metrics address and the status screen', async () => {
  const { parseMetricsAddress } = await import('../../src/cli/metrics-server.js');
  const { dashboard } = await import('../../src/cli/status-screen.js');
  const { Chalk } = await import('chalk');

  it('loopback by default; another address only when allowed', () => {
    expect(parseMetricsAddress('9464', false)).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseMetricsAddress(':9464', false)).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseMetricsAddress('[::1]:9464', false)).toEqual({ host: '::1', port: 9464 });
    expect(parseMetricsAddress('localhost:1', false)).toEqual({ host: 'localhost', port: 1 });
    expect(() => parseMetricsAddress('10.0.0.1:9464', false)).toThrow(/10\.0\.0\.1 is not a loopback address/);
    expect(parseMetricsAddress('10.0.0.1:9464', true)).toEqual({ host: '10.0.0.1', port: 9464 });
    expect(() => parseMetricsAddress('example.com:9464', true)).toThrow(/invalid metrics "example.com:9464"/);
    expect(() => parseMetricsAddress('127.0.0.1:0', false)).toThrow(/invalid metrics port "0"/);
  });

  it('the dashboard: one row per account; colour only when the terminal wants it (NO_COLOR)', () => {
    const input = (level: 0 | 1) => ({
      runnerLine: 'runner: not running',
      queueLine: 'queue: 0 waiting (0 ready, 0 retrying later)',
      switches: ['paused: sending (mailbox resume sending)'],
      accounts: [{ name: 'work', type: 'imap', active: true, job: 'read', at: '2026-01-01T10:00:00Z', ok: false, error: 'refused', lastError: { at: '2026-01-01T10:00:00Z', message: 'refused' } }],
      runner: { running: false },
      lastHour: new Map([['work', 4]]),
      now: new Date('2026-01-01T10:00:05Z'),
      color: new Chalk({ level }),
      width: 120,
      intervalMs: 2000,
    });
    const plain = dashboard(input(0));
    expect(plain).not.toContain('\x1b[');
    expect(plain).toContain('paused: sending (mailbox resume sending)');
    expect(plain).toMatch(/work\s+imap\s+FAILING\s+read \d\d:\d\d:\d\d\s+4\s+\S+ \S+ refused/);
    expect(dashboard(input(1))).toContain('\x1b[31mFAILING');
  });
});

describe("the loop guard's list of sent Message-IDs", () => {
  // A log that another worker of a fleet writes to, as the database's is.
  const sent: Array<{ messageId: string; recipients: string[] }> = [{ messageId: '<one@x>', recipients: ['a@x'] }];
  const log = { readAll: async () => new Map(), scan: async (visit: (r: never) => void) => sent.forEach((r) => visit(r as never)) };

  it('is read once per runner on its own store; in a fleet again once it is older than the interval', async () => {
    const alone = new SentMessageIds(log);
    expect([...(await alone.get())]).toEqual(['<one@x>']);
    sent.push({ messageId: '<two@x>', recipients: ['b@x'] });
    expect((await alone.get()).has('<two@x>')).toBe(false); // nobody else sends to a local store

    let now = 0;
    const fleet = new SentMessageIds(log);
    fleet.reloadEvery(1000, () => now);
    expect((await fleet.get()).has('<two@x>')).toBe(true);
    sent.push({ messageId: '<three@x>', recipients: ['c@x'] });
    now = 999;
    expect((await fleet.get()).has('<three@x>')).toBe(false);
    now = 1000;
    expect((await fleet.get()).has('<three@x>')).toBe(true);
  });
});
