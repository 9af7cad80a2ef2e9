// The runner schedules, and nothing else: it holds the store's lock, reads every active incoming
// account every read interval (on a database it is a fleet worker: the accounts whose leases it
// holds) and sends the queue every send interval, until stopped. One account
// failing never stops the others; a fatal error (the config unreadable, an account named on the
// command line gone) stops both loops at once. Every way out releases the lock and saves the status.
// Everything it works with (store, adapters, debug log, clocks) is built at the edge and passed in.
import type { Account, AccountView } from '../core/account.js';
import { ExitCode, MailboxError, shown } from '../core/errors.js';
import type { AddressFilter } from '../core/filter.js';
import { accountProblems, type Hidden, type Problems } from '../core/problems.js';
import { nameSet, sameName } from '../core/rules.js';
import { credentialResolver } from './credentials.js';
import { readCycle, SentMessageIds, sendCycle, type CycleDeps, type CycleOutcome, type CycleReport } from './cycles.js';
import { pausedJobs, settingsOf, type Settings, type SettingsMap } from '../core/settings.js';
import { Push } from './push.js';
import { describePruned, prune, retentionRules } from './retention.js';
import { HEARTBEAT_MS, StatusBook } from './run-status.js';
import { DEFAULT_PUSH, type PushSettings } from './watcher.js';
import type { HeldRunLock, Share } from '../store/types.js';

/** The runner prunes by the retention setting at most this often. */
const RETENTION_EVERY_MS = 24 * 3_600_000;

export interface Snapshot {
  accounts: AccountView[];
  filters: AddressFilter[];
  /** The user's accounts and filters hidden by provisioned ones of the same name: reported, never run. */
  hidden?: Hidden;
  /** The operating settings (pause switches, redirect, guards, retention), read every cycle. */
  config?: { settings?: SettingsMap };
}

export interface RunnerDeps extends CycleDeps {
  snapshot: () => Promise<Snapshot>;
  report: (report: CycleReport) => void;
  /** Notes for the admin (recovery after a stop, a lock taken over). */
  notice: (text: string) => void;
  /** The push connections open for an incoming account of the run, whenever the number changes (for the metrics). */
  pushConnections?: (account: string, open: number) => void;
}

export interface RunOptions {
  once: boolean;
  readIntervalMs: number;
  sendIntervalMs: number;
  /** Only these accounts (names); empty: every active account. */
  accounts: string[];
  /** Aborted on SIGINT/SIGTERM: finish safely and return. */
  signal: AbortSignal;
  /** This process, for the heartbeat. */
  pid?: number;
  /** Push over IMAP IDLE (never with `once`); absent: off. */
  push?: { enabled: boolean; settings?: Partial<PushSettings> };
}

/** `work` on every item, at most `limit` at a time (no limit: all at once); results in order. */
async function inBatches<T, R>(items: readonly T[], limit: number | undefined, work: (item: T) => Promise<R>): Promise<R[]> {
  if (!limit || limit >= items.length) return Promise.all(items.map(work));
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const at = next++;
      results[at] = await work(items[at]!);
    }
  };
  await Promise.all(Array.from({ length: limit }, lane));
  return results;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

interface Selection {
  incoming: Account[];
  smtp: Account | undefined;
  /** Accounts this run would work on, each with what is wrong with it: reported, never read or sent with. */
  problems: Problems;
  /** The active SMTP account, when --account names leave it out of this run. */
  smtpLeftOut?: string;
}

/**
 * Accounts this run works on: active ones, narrowed to --account names (unknown names are an error),
 * with their configuration problems. A user's active account hidden by an inactive provisioned one of
 * the same name is among them, so that its problem is reported.
 */
function select(snapshot: Snapshot, names: readonly string[]): Selection {
  const known = nameSet([...snapshot.accounts, ...(snapshot.hidden?.accounts ?? [])]);
  for (const name of names) {
    if (!known.has(name.toLowerCase())) {
      throw new MailboxError('ENOTFOUND', `no account named ${shown(name)}`, { hint: 'mailbox list shows the accounts' });
    }
  }
  const wantedNames = new Set(names.map((n) => n.toLowerCase()));
  const wanted = (a: Account) => a.active && (wantedNames.size === 0 || wantedNames.has(a.name.toLowerCase()));
  const inEffect = nameSet(snapshot.accounts.filter((a) => a.active));
  const candidates = [...snapshot.accounts, ...(snapshot.hidden?.accounts ?? []).filter((a) => !inEffect.has(a.name.toLowerCase()))].filter(wanted);
  // More than one only when the one-active-SMTP rule is broken: then each has that problem.
  const smtp = candidates.find((a) => a.type === 'smtp');
  return {
    incoming: candidates.filter((a) => a.type !== 'smtp'),
    smtp,
    smtpLeftOut: smtp ? undefined : snapshot.accounts.find((a) => a.type === 'smtp' && a.active)?.name,
    problems: accountProblems(snapshot),
  };
}

/** Unreachable (69) or temporary (75): worth another try. */
function isTransient(err: unknown): boolean {
  return err instanceof MailboxError && (err.exitCode === ExitCode.unavailable || err.exitCode === ExitCode.tempFail);
}

/** The report of a cycle not run: the account's configuration is wrong (78), nothing was read or sent. */
function notRun(job: CycleReport['job'], account: Account, error: MailboxError): CycleOutcome {
  return { job, account: account.name, ok: false, summary: error.message, counts: {}, error, notes: [] };
}

/** One read of an account at a time; a push read asked for while one runs is folded into one more after it. */
class ReadTurns {
  private readonly running = new Map<string, Promise<unknown>>();
  private readonly waiting = new Set<string>();

  /** Runs `read` once the account's read in flight (if any) has ended. */
  async take<T>(name: string, read: () => Promise<T>): Promise<T> {
    const key = name.toLowerCase();
    const before = this.running.get(key);
    const mine = (async () => {
      await before?.catch(() => undefined);
      return read();
    })();
    this.running.set(key, mine);
    try {
      return await mine;
    } finally {
      if (this.running.get(key) === mine) this.running.delete(key);
    }
  }

  /** Like take(), unless a read of the account is already waiting its turn: that one covers this call too. */
  async once(name: string, read: () => Promise<unknown>): Promise<void> {
    const key = name.toLowerCase();
    if (this.waiting.has(key)) return;
    this.waiting.add(key);
    await this.take(name, async () => {
      this.waiting.delete(key);
      return read();
    });
  }
}

export class Runner {
  private readonly book: StatusBook;
  /** The settings of the latest snapshot: every cycle line says what is paused and redirected. */
  private settings: Settings = settingsOf(undefined);
  private readonly turns = new ReadTurns();

  constructor(private readonly deps: RunnerDeps) {
    this.book = new StatusBook(deps.stores.status);
    // Every snapshot (one per cycle) brings the settings: a pause or a redirect takes effect within a cycle.
    const snapshot = async () => {
      const taken = await deps.snapshot();
      this.settings = settingsOf(taken.config?.settings);
      return taken;
    };
    this.deps = { ...deps, snapshot, sentIds: deps.sentIds ?? new SentMessageIds(deps.stores.log) };
  }

  /** Stamps a cycle's time, records it for `mailbox status`, and reports it. */
  private finish(report: CycleOutcome, startedMs: number): CycleReport {
    const at = this.deps.clock();
    // The duration from the clock that never jumps: a wall clock set back mid-cycle is no negative time.
    const full: CycleReport = {
      ...report,
      time: at.toISOString(),
      durationMs: Math.max(0, Math.round(this.deps.monotonic() - startedMs)),
      paused: pausedJobs(this.settings),
      ...(report.job === 'send' ? { redirectTo: this.settings.redirectTo } : {}),
    };
    this.book.record(report.account, { job: report.job, at, ok: report.ok, summary: report.summary, error: report.error?.message ?? null, exitCode: report.error?.exitCode });
    this.deps.report(full);
    return full;
  }

  /**
   * Reads one incoming account once (unless its configuration is wrong), and reports it; never while
   * another read of it runs.
   */
  async readAccount(account: Account, filters: AddressFilter[], signal: AbortSignal, problem?: MailboxError): Promise<CycleReport> {
    return this.turns.take(account.name, () => this.read(account, filters, signal, problem));
  }

  /** One read cycle, in the account's turn; `trigger` push when push asked for it. */
  private async read(account: Account, filters: AddressFilter[], signal: AbortSignal, problem?: MailboxError, trigger?: 'push'): Promise<CycleReport> {
    const started = this.deps.monotonic();
    const outcome = problem ? notRun('read', account, problem) : await readCycle(this.deps, account, filters, signal, this.settings);
    return this.finish(trigger ? { ...outcome, trigger } : outcome, started);
  }

  /**
   * Sends the queue once (through `smtp`, if any, unless its configuration is wrong: `problem`), and
   * reports it; nothing when there is nothing to say. `smtpLeftOut`: the active SMTP account this run leaves out.
   */
  async sendCycle(smtp: Account | undefined, filters: AddressFilter[], signal: AbortSignal, problem?: MailboxError, smtpLeftOut?: string): Promise<CycleReport | undefined> {
    const started = this.deps.monotonic();
    const outcome = smtp && problem ? notRun('send', smtp, problem) : await sendCycle(this.deps, smtp, filters, signal, smtpLeftOut, this.settings);
    return outcome && this.finish(outcome, started);
  }

  /**
   * A cycle the pause switch stops: said (once, then quietly, as any repeated line), not recorded as
   * a read or send. Nothing is touched: unread mail stays on the server, queued mail send-ready.
   */
  private async pausedCycle(job: CycleReport['job'], account: string | undefined): Promise<void> {
    let summary: string;
    if (job === 'read') summary = 'reading paused: nothing read (mailbox resume reading)';
    else {
      const waiting = (await this.deps.stores.queue.waiting()).length;
      if (!account && waiting === 0) return;
      summary = `sending paused: ${waiting} waiting in the outbox, kept send-ready (mailbox resume sending)`;
    }
    this.deps.report({
      job,
      account: account ?? '-',
      ok: true,
      summary,
      counts: {},
      error: null,
      notes: [],
      time: this.deps.clock().toISOString(),
      durationMs: 0,
      pausedCycle: true,
      paused: pausedJobs(this.settings),
      ...(job === 'send' ? { redirectTo: this.settings.redirectTo } : {}),
    });
  }

  /** Prunes by the retention setting, at most once a day (the last time is kept with the status). */
  private async retention(): Promise<void> {
    const rules = retentionRules(this.settings.retention);
    const now = this.deps.clock();
    const last = this.book.prunedAt;
    if (rules.length === 0 || (last && now.getTime() - Date.parse(last) < RETENTION_EVERY_MS)) return;
    const { removed } = await prune(this.deps.stores, rules, now);
    this.book.pruned(now);
    if (removed.length) this.deps.notice(`retention: removed ${describePruned(removed)} older than the setting retention allows`);
  }

  /** Runs until `options.signal` (or once). Resolves with the exit code; throws a fatal error. */
  async run(options: RunOptions): Promise<number> {
    const { stores } = this.deps;
    const first = await this.deps.snapshot();
    const initial = select(first, options.accounts);
    for (const name of options.accounts) {
      const named = first.accounts.find((a) => sameName(a.name, name));
      if (named && !named.active) this.deps.notice(`account ${named.name} is not active: it is left out (mailbox activate ${named.name})`);
    }
    this.deps.adapters.preload([...initial.incoming, ...(initial.smtp ? [initial.smtp] : [])]);
    const lock = await stores.lock.acquire();
    // A fleet's other workers send too: the loop guard's list of sent Message-IDs is read again each read interval.
    if (lock.share) this.deps.sentIds?.reloadEvery(options.readIntervalMs, this.deps.monotonic);
    try {
      await this.book.load();
      if (lock.tookOverFrom !== null) {
        this.deps.notice(`the previous runner (pid ${lock.tookOverFrom}) did not stop cleanly; its lock was taken over and its last work checked`);
      }
      for (const note of await stores.recover(first.accounts.filter((a) => a.type !== 'smtp'))) this.deps.notice(note);
      if (initial.incoming.length === 0 && !first.accounts.some((a) => a.type === 'smtp' && a.active)) {
        this.deps.notice('no active account: nothing to read or send (mailbox list shows the accounts)');
      }
      const beat = { pid: options.pid ?? 0, startedAt: this.deps.clock().toISOString(), readIntervalMs: options.readIntervalMs, sendIntervalMs: options.sendIntervalMs };
      const heartbeat = (save = true) => this.book.beat({ ...beat, heartbeatAt: this.deps.clock().toISOString(), stoppedAt: null }, save);
      heartbeat(false);
      const timer = setInterval(heartbeat, HEARTBEAT_MS);
      timer.unref();
      try {
        return await this.loops(options, initial, lock);
      } finally {
        clearInterval(timer);
        const at = this.deps.clock().toISOString();
        this.book.beat({ ...beat, heartbeatAt: at, stoppedAt: at });
      }
    } finally {
      this.book.clearPush();
      await this.book.flush();
      await lock.release();
    }
  }

  /** The watchers of this run, or undefined with --once (a push read then has nothing to add). */
  private watchers(options: RunOptions, signal: AbortSignal, fail: (err: unknown) => void): Push | undefined {
    if (options.once || !options.push) return undefined;
    const { openWatch } = this.deps.adapters;
    const deps = options.push.enabled && openWatch ? { openWatch, credentials: credentialResolver(this.deps), debugLog: this.deps.debugLog, clock: this.deps.clock, monotonic: this.deps.monotonic } : undefined;
    return new Push(deps, { ...DEFAULT_PUSH, ...options.push.settings }, {
      state: (account, status) => this.book.recordPush(account, status),
      notice: (text) => this.deps.notice(text),
      connections: (account, open) => this.deps.pushConnections?.(account, open),
      // A push read takes the accounts and filters as they are now; an account gone or switched
      // off since is not read (the next read cycle stops its watcher).
      read: (account) => {
        if (signal.aborted) return;
        void this.turns
          .once(account.name, async () => {
            if (signal.aborted) return;
            const snapshot = await this.deps.snapshot();
            if (this.settings.readingPaused) return; // mailbox pause reading: push waits too
            const { incoming, problems } = select(snapshot, options.accounts);
            const now = incoming.find((a) => sameName(a.name, account.name));
            if (now) await this.read(now, snapshot.filters, signal, problems.get(now.name.toLowerCase()), 'push');
          })
          .catch(fail);
      },
    });
  }

  /**
   * The accounts this runner reads this cycle: all of them, or in a fleet the share of them whose
   * leases this worker holds. A lease another worker took is said once (stderr and a cycle line, not
   * recorded as the account's status: the new holder records it). Undefined: the store is out of
   * reach for a moment, the cycle is skipped.
   */
  private async share(lock: HeldRunLock, incoming: Account[], once: boolean): Promise<Account[] | undefined> {
    if (!lock.share) return incoming;
    let share: Share;
    try {
      share = await lock.share(incoming.map((a) => a.name));
    } catch (err) {
      if (once || !isTransient(err)) throw err;
      this.deps.notice(`${(err as MailboxError).message}; trying again next cycle`);
      return undefined;
    }
    for (const key of share.lost) {
      const name = incoming.find((a) => a.name.toLowerCase() === key)?.name ?? key;
      const text = `account ${name}: another worker took its lease over while this worker was stopped or cut off; this worker leaves it and goes on with the others`;
      this.deps.notice(text);
      const time = this.deps.clock().toISOString();
      this.deps.report({ time, job: 'read', account: name, ok: false, durationMs: 0, summary: text, counts: {}, error: new MailboxError('ELOCKED', text), notes: [] });
    }
    return incoming.filter((a) => share.accounts.has(a.name.toLowerCase()));
  }

  /** The read loop and the send loop; the first fatal error stops both and is thrown. */
  private async loops(options: RunOptions, initial: Selection, lock: HeldRunLock): Promise<number> {
    const fatal = new AbortController();
    const signal = AbortSignal.any([options.signal, fatal.signal]);
    let failure: { error: unknown } | undefined;
    const fail = (err: unknown) => {
      failure ??= { error: err };
      fatal.abort();
    };
    const push = this.watchers(options, signal, fail);
    // With --once, the exit code is that of the first account (in config order) that failed.
    let first: { order: number; code: number } | undefined;
    const orderOf = new Map(initial.incoming.map((a, i) => [a.name.toLowerCase(), i]));
    const note = (report: CycleReport | undefined) => {
      if (!report || report.ok || !options.once) return;
      const index = orderOf.get(report.account.toLowerCase());
      const order = report.job === 'read' && index !== undefined ? index : initial.incoming.length;
      if (!first || order < first.order) first = { order, code: report.error?.exitCode ?? 0 };
    };
    const loop = async (intervalMs: number, cycle: (selection: Selection, filters: AddressFilter[]) => Promise<unknown>) => {
      try {
        while (!signal.aborted) {
          const started = this.deps.monotonic();
          const snapshot = await this.deps.snapshot().catch((err: unknown) => {
            // A database store out of reach for a moment (restarting, a cut connection) is no reason
            // to stop: the accounts are read again next cycle. A broken config still stops the runner.
            if (options.once || !isTransient(err)) throw err;
            this.deps.notice(`${(err as MailboxError).message}; trying again next cycle`);
            return undefined;
          });
          if (snapshot) await cycle(select(snapshot, options.accounts), snapshot.filters);
          if (options.once) return;
          await abortableSleep(Math.max(0, intervalMs - (this.deps.monotonic() - started)), signal);
        }
      } catch (err) {
        fail(err);
      }
    };
    await Promise.all([
      loop(options.readIntervalMs, async ({ incoming, problems }, filters) => {
        if (this.settings.readingPaused) {
          for (const a of incoming) await this.pausedCycle('read', a.name);
          return;
        }
        const mine = await this.share(lock, incoming, options.once);
        if (!mine) return;
        // In a fleet a worker watches only the accounts whose leases it holds.
        push?.sync(mine.filter((a) => !problems.has(a.name.toLowerCase())));
        const reports = await inBatches(mine, lock.concurrency, (a) => this.readAccount(a, filters, signal, problems.get(a.name.toLowerCase())));
        for (const report of reports) note(report);
      }),
      loop(options.sendIntervalMs, async ({ smtp, smtpLeftOut, problems }, filters) => {
        if (this.settings.sendingPaused) await this.pausedCycle('send', smtp?.name);
        else note(await this.sendCycle(smtp, filters, signal, smtp && problems.get(smtp.name.toLowerCase()), smtpLeftOut));
        // Retention is a chore of the send loop: it never holds up reading.
        if (!signal.aborted) await this.retention().catch((err: unknown) => this.deps.notice(`retention: pruning failed: ${(err as Error).message}`));
      }),
    ]);
    await push?.stop();
    if (failure) throw failure.error;
    return first?.code ?? 0;
  }
}
