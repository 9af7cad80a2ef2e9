// What `mailbox run` prints (issue 9 friction): a cycle that did nothing and says what the last one
// said is not printed again, except once an hour with how many were left out; the progress of a
// download counts what is stored; and the runner says why the queue waits when --account leaves the
// active SMTP account out (issue 9 item 4).
import { describe, expect, it } from 'vitest';
import type { AccountView } from '../../src/core/account.js';
import { MailboxError } from '../../src/core/errors.js';
import { progressLine, QuietCycles, reportLine } from '../../src/cli/run-output.js';
import { localTime } from '../../src/cli/time.js';
import type { CycleReport } from '../../src/jobs/cycles.js';
import { Runner } from '../../src/jobs/runner.js';
import { openMemoryStores } from '../../src/store/memory/index.js';
import { FakeSmtp } from '../helpers/fake-mail.js';

function report(over: Partial<CycleReport> = {}): CycleReport {
  return { time: '2026-01-01T10:00:00.000Z', job: 'send', account: 'out', ok: true, durationMs: 12, summary: 'nothing sent, 1 waiting', counts: { sent: 0, failed: 0, retrying: 0, ignored: 0, waiting: 1, dropped: 0 }, error: null, notes: [], ...over };
}

describe('QuietCycles', () => {
  it('prints a quiet cycle only when its line changes, or once an hour with the number left out', () => {
    let now = 0;
    const quiet = new QuietCycles(() => now);
    expect(quiet.admit(report())).toBe(0);
    for (let minute = 1; minute < 60; minute++) {
      now = minute * 60_000;
      expect(quiet.admit(report()), `minute ${minute}`).toBeUndefined();
    }
    now = 60 * 60_000;
    expect(quiet.admit(report())).toBe(59);
    now += 60_000;
    expect(quiet.admit(report())).toBeUndefined();
    now += 60_000;
    expect(quiet.admit(report({ summary: 'nothing sent, 2 waiting', counts: { waiting: 2 } }))).toBe(0);
  });

  it('a cycle that did something is always printed; so are failures that change, and the recovery', () => {
    const quiet = new QuietCycles(() => 0);
    const read = (over: Partial<CycleReport>) => report({ job: 'read', account: 'imap', summary: 'no new mail', counts: { received: 0, leftTooLarge: 3 }, ...over });
    expect(quiet.admit(read({}))).toBe(0);
    expect(quiet.admit(read({}))).toBeUndefined();
    expect(quiet.admit(read({ summary: '2 new', counts: { received: 2, leftTooLarge: 3 } }))).toBe(0);
    expect(quiet.admit(read({ summary: '2 new', counts: { received: 2, leftTooLarge: 3 } }))).toBe(0);
    expect(quiet.admit(read({ notes: ['UIDVALIDITY changed'] }))).toBe(0);
    const down = read({ ok: false, summary: 'connection refused', error: new MailboxError('EUNREACHABLE', 'connection refused') });
    expect(quiet.admit(down)).toBe(0);
    expect(quiet.admit(down)).toBeUndefined();
    expect(quiet.admit(read({}))).toBe(0);
    // Another account or job has its own line.
    expect(quiet.admit(report())).toBe(0);
    expect(quiet.admit(report({ account: 'OUT' }))).toBeUndefined();
  });
});

describe('reportLine', () => {
  it('says how many like cycles were not shown, in text and JSON', () => {
    const at = localTime('2026-01-01T10:00:00.000Z');
    expect(reportLine(report(), false, 59)).toBe(`${at} send out: nothing sent, 1 waiting (0.01s; the same 59 times before, not shown)`);
    expect(reportLine(report(), false)).toBe(`${at} send out: nothing sent, 1 waiting (0.01s)`);
    expect(JSON.parse(reportLine(report(), true, 59))).toMatchObject({ job: 'send', account: 'out', waiting: 1, repeats: 59 });
  });
});

describe('progressLine', () => {
  it('shows what is stored of the total, and what was fetched; clear() wipes it', () => {
    let written = '';
    const stderr = Object.assign({ write: (s: string) => ((written += s), true) }, { isTTY: true }) as never;
    let now = 0;
    const line = progressLine(stderr, () => now)!;
    line.update('work', { stored: 0, fetched: 10, total: 5000 });
    now = 100;
    line.update('work', { stored: 0, fetched: 20, total: 5000 });
    now = 300;
    line.update('work', { stored: 1000, fetched: 1300, total: 5000 });
    line.clear();
    expect(written).toBe('\r\x1b[Kread work: 0/5000 stored (10 fetched)\r\x1b[Kread work: 1000/5000 stored (1300 fetched)\r\x1b[K');
    expect(progressLine({ write: () => true } as never)).toBeUndefined();
  });
});

describe('the send cycle without its SMTP account', () => {
  const base = { host: 'h', security: 'tls', auth: 'password', active: true, debug: false, tls: {}, provisioned: false, secret: { kind: 'env', name: 'PW' } } as const;
  const smtp: AccountView = { ...base, name: 'work-smtp', type: 'smtp', port: 465, from: 'a@example.test' };
  const pop: AccountView = { ...base, name: 'pop-bob', type: 'pop3', port: 995, active: false };

  async function once(accounts: AccountView[], names: string[]): Promise<CycleReport[]> {
    const stores = openMemoryStores();
    await stores.queue.enqueue(Buffer.from('Subject: x\r\n\r\nx\r\n'), { account: 'work-smtp', recipients: ['bob@example.test'] });
    const reports: CycleReport[] = [];
    const out = new FakeSmtp();
    const runner = new Runner({
      stores,
      snapshot: async () => ({ accounts, filters: [] }),
      secrets: { resolve: async () => 'pw' },
      adapters: { openIncoming: () => Promise.reject(new Error('not used')), openOutgoing: async () => out, preload: () => undefined, sendFailure: (err) => err as MailboxError },
      debugLog: async () => undefined,
      clock: () => new Date(),
      monotonic: () => performance.now(),
      report: (r) => reports.push(r),
      notice: () => undefined,
    });
    await runner.run({ once: true, readIntervalMs: 1000, sendIntervalMs: 1000, accounts: names, signal: new AbortController().signal });
    return reports;
  }

  it('--account leaving the active SMTP account out: says so, not that none is active', async () => {
    const [sent] = await once([pop, smtp], ['pop-bob']);
    expect(sent!.summary).toBe('1 message waiting in the outbox: this run leaves out the active SMTP account work-smtp');
  });

  it('no SMTP account active at all: says that', async () => {
    const [sent] = await once([pop, { ...smtp, active: false }], []);
    expect(sent!.summary).toBe('1 message waiting in the outbox: no SMTP account is active (mailbox activate NAME)');
  });
});
