// The runner's rules (issue 10): filters fail closed, rule violations of hand-edited files are the
// accounts' configuration errors (never resolved silently), retries and durations survive clock jumps,
// and reading a store of tens of thousands of accounts stays linear.
import { describe, expect, it } from 'vitest';
import type { Account, AccountView } from '../../src/core/account.js';
import { emptyConfig, parseConfig, type Config } from '../../src/core/config.js';
import type { AddressFilter } from '../../src/core/filter.js';
import { planApply } from '../../src/core/plan.js';
import { accountProblems } from '../../src/core/problems.js';
import { nextAttemptAt, retryDue } from '../../src/core/retry.js';
import type { CycleReport } from '../../src/jobs/cycles.js';
import { snapshotOf } from '../../src/jobs/accounts/stores.js';
import { Runner, type RunnerDeps, type Snapshot } from '../../src/jobs/runner.js';
import { openMemoryStores } from '../../src/store/memory/index.js';
import { isDue } from '../../src/store/queue-rules.js';
import type { EmailRecord } from '../../src/store/types.js';
import { runnerDeps } from '../helpers/runner-deps.js';
import { FakeImap, FakeSmtp, mail } from '../helpers/fake-mail.js';

const base = { host: 'h', security: 'tls', auth: 'password', active: true, debug: false, tls: {}, provisioned: false, secret: { kind: 'env', name: 'PW' } } as const;
const imap = (name: string, over: Partial<AccountView> = {}): AccountView => ({ ...base, name, type: 'imap', port: 993, folder: 'INBOX', user: 'u@example.test', ...over });
const smtp = (name: string, over: Partial<AccountView> = {}): AccountView => ({ ...base, name, type: 'smtp', port: 465, user: 'u@example.test', from: 'u@example.test', ...over });
const filter = (name: string, direction: AddressFilter['direction'], deny: string[] = []): AddressFilter => ({ name, direction, allow: [], deny, default: false });

describe('accountProblems', () => {
  it('a named filter that is missing or faces the other way; nothing for inactive accounts', () => {
    const problems = accountProblems({
      accounts: [imap('gone', { filter: 'strict' }), imap('wrong', { filter: 'out' }), smtp('send', { filter: 'strict' }), imap('off', { filter: 'nothing', active: false }), imap('fine', { filter: 'IN' })],
      filters: [filter('out', 'outbound'), filter('in', 'inbound')],
    });
    expect([...problems.keys()].sort()).toEqual(['gone', 'send', 'wrong']);
    expect(problems.get('gone')).toMatchObject({ code: 'ECONFIG', exitCode: 78, fixes: [{ field: 'filter', value: 'OTHER' }, { field: 'filter', clear: true }] });
    expect(problems.get('wrong')!.message).toContain('which is outbound, but imap accounts take inbound filters');
    expect(problems.get('send')!.message).toContain('nothing is sent through it');
  });
  it('two active SMTP accounts: a problem of each, naming both; one active is fine', () => {
    const problems = accountProblems({ accounts: [smtp('a'), smtp('b'), smtp('c', { active: false })], filters: [] });
    expect([...problems.keys()]).toEqual(['a', 'b']);
    expect(problems.get('b')!.message).toBe('2 SMTP accounts are active (a, b), but only one may be: nothing is sent until one is left');
  });
  it('a stored SMTP account whose user is not an address and has no From', () => {
    expect(accountProblems({ accounts: [smtp('s', { user: 'alice', from: undefined })], filters: [] }).get('s')!.message).toMatch(/needs a From address to send from: nothing is sent with it until it has one/);
  });
  it("a name a user's account shares with a provisioned one, and a user filter a provisioned one hides", () => {
    const config: Config = { ...emptyConfig(), accounts: [imap('Work'), imap('mine', { filter: 'junk' })], filters: [filter('junk', 'inbound')] };
    const snapshot = snapshotOf(config, { accounts: [imap('work', { provisioned: false })], filters: [filter('JUNK', 'inbound', ['*'])] });
    expect(snapshot.accounts.map((a) => `${a.name}${a.provisioned ? ' (provisioned)' : ''}`)).toEqual(['work (provisioned)', 'mine']);
    expect(snapshot.problems.get('work')!.message).toContain('your account in config.json and a provisioned account have this name');
    expect(snapshot.problems.get('mine')!.message).toContain('a provisioned filter has that name too and hides yours');
  });
  it('a provisioned account: no fixes (edit is refused), the hint says who fixes it and how to silence it', () => {
    const problem = accountProblems({ accounts: [imap('adm', { provisioned: true, filter: 'gone' })], filters: [] }).get('adm')!;
    expect(problem.fixes).toBeUndefined();
    expect(problem.hint).toContain('administrator');
    expect(problem.hint).toContain('mailbox deactivate NAME');
  });
});

interface Harness {
  runner: Runner;
  reports: CycleReport[];
  imap: FakeImap;
  smtp: FakeSmtp;
  opened: string[];
}

function harness(snapshot: () => Snapshot, over: Partial<RunnerDeps> = {}): Harness & { stores: ReturnType<typeof openMemoryStores> } {
  const stores = openMemoryStores();
  const reports: CycleReport[] = [];
  const opened: string[] = [];
  const server = new FakeImap();
  const out = new FakeSmtp();
  const runner = new Runner(
    runnerDeps(stores, async () => snapshot(), { openIncoming: async (account) => (opened.push(account.name), server), openOutgoing: async (account) => (opened.push(account.name), out) }, reports, over),
  );
  return { runner, reports, imap: server, smtp: out, opened, stores };
}

const once = { once: true, readIntervalMs: 1000, sendIntervalMs: 1000, accounts: [] as string[], signal: new AbortController().signal };

describe('the runner fails closed', () => {
  it('an account whose filter disappeared reads nothing (78) while the others go on; every cycle says so', async () => {
    let filters = [filter('strict', 'inbound', ['spam.test'])];
    const h = harness(() => ({ accounts: [imap('guarded', { filter: 'strict' }), imap('other')], filters }));
    h.imap.add(mail(1));
    expect(await h.runner.run(once)).toBe(0);
    filters = [];
    const stop = new AbortController();
    h.reports.length = 0;
    h.opened.length = 0;
    const running = h.runner.run({ ...once, once: false, readIntervalMs: 1000, signal: stop.signal });
    await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    await running;
    const guarded = h.reports.filter((r) => r.account === 'guarded');
    expect(guarded.length).toBeGreaterThan(0);
    for (const r of guarded) expect(r).toMatchObject({ ok: false, error: { code: 'ECONFIG' }, counts: {} });
    expect(h.opened).toEqual(['other']);
    expect(h.stores.status.status.accounts.guarded).toMatchObject({ ok: false, error: expect.stringContaining('does not exist') });
    expect(await h.runner.run(once)).toBe(78);
  });

  it('two active SMTP accounts: nothing is sent, not even through the first; the queue waits', async () => {
    const h = harness(() => ({ accounts: [smtp('a'), smtp('b')], filters: [] }));
    await h.stores.queue.enqueue(mail(2), { account: 'a', recipients: ['x@example.test'] });
    expect(await h.runner.run(once)).toBe(78);
    expect(h.smtp.sent).toEqual([]);
    expect(h.opened).toEqual([]);
    expect(h.reports).toMatchObject([{ job: 'send', account: 'a', ok: false, error: { code: 'ECONFIG' } }]);
    expect((await h.stores.queue.waiting()).length).toBe(1);
  });

  it('--account narrows to one of two active SMTP accounts: still nothing sent', async () => {
    const h = harness(() => ({ accounts: [smtp('a'), smtp('b')], filters: [] }));
    await h.stores.queue.enqueue(mail(3), { account: 'a', recipients: ['x@example.test'] });
    expect(await h.runner.run({ ...once, accounts: ['b'] })).toBe(78);
    expect(h.smtp.sent).toEqual([]);
  });

  it("a user's active account hidden by an inactive provisioned one is reported, never read", async () => {
    const h = harness(() => ({ accounts: [imap('work', { provisioned: true, active: false })], filters: [], hidden: { accounts: [imap('Work')], filters: [] } }));
    expect(await h.runner.run(once)).toBe(78);
    expect(h.opened).toEqual([]);
    expect(h.reports).toMatchObject([{ job: 'read', account: 'Work', ok: false }]);
  });
});

describe('clock jumps', () => {
  const record = (over: Partial<EmailRecord>): EmailRecord => ({ state: 'send-retry-backoff', attempts: 1, inFlight: null, nextAttempt: null, ...over }) as EmailRecord;
  it('a retry scheduled while the clock ran a day ahead is due once the clock is set back, not a day later', () => {
    const ahead = new Date('2026-06-02T12:00:00Z');
    const now = new Date('2026-06-01T12:00:00Z');
    const next = nextAttemptAt(3, ahead)!.toISOString(); // 10 minutes after the wrong time
    expect(isDue(record({ attempts: 3, nextAttempt: next }), now)).toBe(true);
  });
  it('a retry within its back-off step waits for it (the clock has not jumped), whatever the step', () => {
    const now = new Date('2026-06-01T12:00:00Z');
    for (let attempts = 1; attempts <= 8; attempts++) {
      const next = nextAttemptAt(attempts, now)!;
      expect(retryDue(next.toISOString(), attempts, now)).toBe(false);
      expect(retryDue(next.toISOString(), attempts, new Date(next.getTime() - 1))).toBe(false);
      expect(retryDue(next.toISOString(), attempts, next)).toBe(true);
    }
    expect(retryDue('not a time', 1, now)).toBe(true);
  });
  it('a cycle whose wall clock is set back an hour reports its duration from the monotonic clock', async () => {
    let wall = Date.parse('2026-06-01T12:00:00Z');
    let mono = 0;
    const h = harness(() => ({ accounts: [imap('work')], filters: [] }), {
      clock: () => new Date((wall -= 3_600_000)),
      monotonic: () => (mono += 5),
    });
    await h.runner.run(once);
    for (const r of h.reports) {
      expect(r.durationMs).toBeGreaterThan(0);
      expect(r.durationMs).toBeLessThan(1000);
    }
  });
});

describe('a large store stays linear', () => {
  it('30,000 accounts: parsed, viewed with their problems, and planned against themselves in seconds', () => {
    const accounts: Account[] = Array.from({ length: 30_000 }, (_, i) => imap(`acct${i}`, { provisioned: undefined, active: i % 2 === 0 }));
    for (const a of accounts) delete (a as Partial<AccountView>).provisioned;
    const started = performance.now();
    const config = parseConfig(JSON.parse(JSON.stringify({ version: 1, accounts, filters: [] })), 'config.json');
    const snapshot = snapshotOf(config, { accounts: accounts.slice(0, 100).map((a) => ({ ...a, name: `prov-${a.name}` })), filters: [] });
    const plan = planApply(config, { accounts: [], filters: [] }, { accounts: [...config.accounts].reverse(), filters: [] }, { prune: true, source: 'doc' });
    // Quadratic, any of these took minutes at this size (10,000 accounts: list 16-20 s before).
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(snapshot.accounts.length).toBe(30_100);
    expect(snapshot.problems.size).toBe(0);
    expect(plan.changed).toBe(false);
  });
});
