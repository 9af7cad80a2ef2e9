// The runner schedules, and nothing else: it holds the store's lock, reads every active incoming
// account every read interval and sends the queue every send interval, until stopped. One account
// failing never stops the others; a fatal error (the config unreadable, an account named on the
// command line gone) stops both loops at once. Every way out releases the lock and saves the status.
// Everything it works with (store, adapters, debug log, clocks) is built at the edge and passed in.
import type { Account, AccountView } from '../core/account.js';
import { MailboxError } from '../core/errors.js';
import { filterFor, type AddressFilter } from '../core/filter.js';
import { sameName } from '../core/rules.js';
import type { DebugLog } from '../protocols/debug-log.js';
import type { OpenIncoming, OpenOutgoing } from '../protocols/open.js';
import type { Incoming } from '../protocols/types.js';
import type { SecretStore } from '../store/secrets.js';
import type { Stores } from '../store/types.js';
import type { ReadDeps, ReadOutcome, ReadResult } from './read-common.js';
import { readImap } from './read-imap.js';
import { readPop3 } from './read-pop3.js';
import { StatusBook } from './run-status.js';
import { sendQueue, type SendSummary } from './sender.js';

export interface CycleReport {
  time: string;
  job: 'read' | 'send';
  account: string;
  ok: boolean;
  durationMs: number;
  /** One line: what was fetched, sent, skipped, failed. */
  summary: string;
  /** Counts, for --log-format json. */
  counts: Record<string, number>;
  error: MailboxError | null;
  notes: string[];
}

export interface Snapshot {
  accounts: AccountView[];
  filters: AddressFilter[];
}

/** The protocol side, chosen at the edge (src/protocols/open.ts). */
export interface Adapters {
  openIncoming: OpenIncoming;
  openOutgoing: OpenOutgoing;
  /** Starts loading the libraries these accounts need, while the runner sets up. */
  preload: (accounts: readonly Pick<Account, 'type'>[]) => void;
  /** The error for a send cycle stopped by its connection or login. */
  sendFailure: (err: unknown, account: Account) => MailboxError | Promise<MailboxError>;
}

export interface RunnerDeps {
  stores: Stores;
  snapshot: () => Promise<Snapshot>;
  secrets: Pick<SecretStore, 'resolve'>;
  adapters: Adapters;
  /** The account's debug log when its debug flag is on (the secret is scrubbed from it). */
  debugLog: (account: Account, secret: string | undefined) => Promise<DebugLog | undefined>;
  clock: () => Date;
  /** Milliseconds from a clock that never jumps: intervals and delays. */
  monotonic: () => number;
  report: (report: CycleReport) => void;
  /** Notes for the admin (recovery after a stop, a lock taken over). */
  notice: (text: string) => void;
  progress?: (account: string, done: number, total: number) => void;
}

export interface RunOptions {
  once: boolean;
  readIntervalMs: number;
  sendIntervalMs: number;
  /** Only these accounts (names); empty: every active account. */
  accounts: string[];
  /** Aborted on SIGINT/SIGTERM: finish safely and return. */
  signal: AbortSignal;
}

export function asMailboxError(err: unknown): MailboxError {
  if (err instanceof MailboxError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.syscall) return new MailboxError('EIO', `local I/O failed: ${e.message}`, { cause: err });
  return new MailboxError('EINTERNAL', `internal error: ${e?.message ?? String(err)}`, { cause: err });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function describeRead(r: ReadResult): string {
  const parts = [r.received || r.ignored || r.duplicates ? `${r.received} new` : 'no new mail'];
  if (r.ignored) parts.push(`${r.ignored} skipped (sender blocked)`);
  if (r.duplicates) parts.push(`${r.duplicates} already stored`);
  if (r.leftTooLarge) parts.push(`${plural(r.leftTooLarge, 'message')} over the maximum size left on the server`);
  if (r.deleted) parts.push(`${r.deleted} deleted from the server`);
  return parts.join(', ');
}

export function describeSend(s: SendSummary): string {
  const parts = [s.sent ? `${s.sent} sent` : 'nothing sent'];
  if (s.failed) parts.push(`${s.failed} failed`);
  if (s.retrying) parts.push(`${s.retrying} to retry`);
  if (s.ignored) parts.push(`${s.ignored} ignored (every recipient blocked)`);
  if (s.dropped.length) parts.push(`blocked recipients dropped: ${s.dropped.join(', ')}`);
  if (s.waiting) parts.push(`${s.waiting} waiting`);
  return parts.join(', ');
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
}

/** Accounts this run works on: active ones, narrowed to --account names (unknown names are an error). */
function select(snapshot: Snapshot, names: readonly string[]): Selection {
  for (const name of names) {
    if (!snapshot.accounts.some((a) => sameName(a.name, name))) {
      throw new MailboxError('ENOTFOUND', `no account named ${JSON.stringify(name)}`, { hint: 'mailbox list shows the accounts' });
    }
  }
  const wanted = (a: Account) => names.length === 0 || names.some((n) => sameName(n, a.name));
  return {
    incoming: snapshot.accounts.filter((a) => a.type !== 'smtp' && a.active && wanted(a)),
    smtp: snapshot.accounts.find((a) => a.type === 'smtp' && a.active && wanted(a)),
  };
}

const EMPTY_READ: ReadResult = { received: 0, ignored: 0, duplicates: 0, tooLarge: [], leftTooLarge: 0, deleted: 0, notes: [] };

export class Runner {
  private readonly book: StatusBook;

  constructor(private readonly deps: RunnerDeps) {
    this.book = new StatusBook(deps.stores.status);
  }

  private async secretOf(account: Account): Promise<string | undefined> {
    return account.secret ? this.deps.secrets.resolve(account.secret, account.name) : undefined;
  }

  private finish(report: Omit<CycleReport, 'time' | 'durationMs'>, started: Date): CycleReport {
    const at = this.deps.clock();
    const full: CycleReport = { ...report, time: at.toISOString(), durationMs: Math.max(0, at.getTime() - started.getTime()) };
    this.book.record(report.account, { job: report.job, at, ok: report.ok, summary: report.summary, error: report.error?.message ?? null });
    this.deps.report(full);
    return full;
  }

  async readAccount(account: Account, filters: AddressFilter[], signal: AbortSignal): Promise<CycleReport> {
    const started = this.deps.clock();
    let debug: DebugLog | undefined;
    let incoming: Incoming | undefined;
    const abort = () => incoming?.abort();
    signal.addEventListener('abort', abort, { once: true });
    try {
      const secret = await this.secretOf(account);
      debug = await this.deps.debugLog(account, secret);
      incoming = await this.deps.adapters.openIncoming(account, { secret: secret ?? '', debug });
      if (signal.aborted) throw new MailboxError('ETEMPFAIL', 'stopped');
      const deps: ReadDeps = {
        stores: this.deps.stores,
        filter: filterFor(filters, 'inbound', account.filter),
        clock: this.deps.clock,
        monotonic: this.deps.monotonic,
        signal,
        onProgress: this.deps.progress ? (done, total) => this.deps.progress!(account.name, done, total) : undefined,
      };
      const outcome: ReadOutcome = account.type === 'imap' ? await readImap(incoming, account, deps) : await readPop3(incoming, account, deps);
      if (signal.aborted || outcome.failure !== undefined) incoming.abort();
      else await incoming.close();
      const error = signal.aborted || outcome.failure === undefined ? null : asMailboxError(outcome.failure);
      return this.finish(this.readReport(account, outcome.result, error, outcome.failure !== undefined), started);
    } catch (err) {
      incoming?.abort();
      return this.finish(this.readReport(account, EMPTY_READ, signal.aborted ? null : asMailboxError(err), false), started);
    } finally {
      signal.removeEventListener('abort', abort);
      debug?.close();
    }
  }

  private readReport(account: Account, r: ReadResult, error: MailboxError | null, partial: boolean): Omit<CycleReport, 'time' | 'durationMs'> {
    const notes = [...r.notes, ...r.tooLarge.map((m) => `message ${m.key} (${m.size} bytes) is over the maximum size of ${account.maxMessageSize} bytes: left on the server`)];
    const done = describeRead(r);
    return {
      job: 'read',
      account: account.name,
      ok: error === null,
      summary: error ? `${error.message}${partial ? ` (before that: ${done})` : ''}` : done,
      counts: { received: r.received, ignored: r.ignored, duplicates: r.duplicates, tooLarge: r.tooLarge.length, leftTooLarge: r.leftTooLarge, deleted: r.deleted },
      error,
      notes,
    };
  }

  async sendCycle(smtp: Account | undefined, filters: AddressFilter[], signal: AbortSignal): Promise<CycleReport | undefined> {
    const started = this.deps.clock();
    if (!smtp) {
      const waiting = (await this.deps.stores.queue.waiting()).length;
      if (waiting === 0) return undefined;
      return this.finish(
        {
          job: 'send',
          account: '-',
          ok: true,
          summary: `${plural(waiting, 'message')} waiting in the outbox: no SMTP account is active (mailbox activate NAME)`,
          counts: { sent: 0, failed: 0, retrying: 0, ignored: 0, waiting },
          error: null,
          notes: [],
        },
        started,
      );
    }
    let debug: DebugLog | undefined;
    try {
      const summary = await sendQueue(smtp, {
        queue: this.deps.stores.queue,
        filter: filterFor(filters, 'outbound', smtp.filter),
        clock: this.deps.clock,
        signal,
        connect: async () => {
          const secret = await this.secretOf(smtp);
          debug = await this.deps.debugLog(smtp, secret);
          return this.deps.adapters.openOutgoing(smtp, { secret, debug });
        },
      });
      const error = summary.failure === undefined ? null : await this.deps.adapters.sendFailure(summary.failure, smtp);
      const done = describeSend(summary);
      return this.finish(
        {
          job: 'send',
          account: smtp.name,
          ok: error === null,
          summary: error ? `${error.message} (${done})` : done,
          counts: { sent: summary.sent, failed: summary.failed, retrying: summary.retrying, ignored: summary.ignored, waiting: summary.waiting, dropped: summary.dropped.length },
          error,
          notes: summary.dropped.map((d) => `blocked recipient dropped: ${d}`),
        },
        started,
      );
    } catch (err) {
      const error = asMailboxError(err);
      return this.finish({ job: 'send', account: smtp.name, ok: false, summary: error.message, counts: {}, error, notes: [] }, started);
    } finally {
      debug?.close();
    }
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
    try {
      await this.book.load();
      if (lock.tookOverFrom !== null) {
        this.deps.notice(`the previous runner (pid ${lock.tookOverFrom}) did not stop cleanly; its lock was taken over and its last work checked`);
      }
      for (const note of await stores.recover(first.accounts.filter((a) => a.type !== 'smtp'))) this.deps.notice(note);
      if (initial.incoming.length === 0 && !first.accounts.some((a) => a.type === 'smtp' && a.active)) {
        this.deps.notice('no active account: nothing to read or send (mailbox list shows the accounts)');
      }
      return await this.loops(options, initial);
    } finally {
      await this.book.flush();
      await lock.release();
    }
  }

  /** The read loop and the send loop; the first fatal error stops both and is thrown. */
  private async loops(options: RunOptions, initial: Selection): Promise<number> {
    const fatal = new AbortController();
    const signal = AbortSignal.any([options.signal, fatal.signal]);
    let failure: { error: unknown } | undefined;
    // With --once, the exit code is that of the first account (in config order) that failed.
    let first: { order: number; code: number } | undefined;
    const note = (report: CycleReport | undefined) => {
      if (!report || report.ok || !options.once) return;
      const index = initial.incoming.findIndex((a) => sameName(a.name, report.account));
      const order = report.job === 'read' && index >= 0 ? index : initial.incoming.length;
      if (!first || order < first.order) first = { order, code: report.error?.exitCode ?? 0 };
    };
    const loop = async (intervalMs: number, cycle: (selection: Selection, filters: AddressFilter[]) => Promise<unknown>) => {
      try {
        while (!signal.aborted) {
          const started = this.deps.monotonic();
          const snapshot = await this.deps.snapshot();
          await cycle(select(snapshot, options.accounts), snapshot.filters);
          if (options.once) return;
          await abortableSleep(Math.max(0, intervalMs - (this.deps.monotonic() - started)), signal);
        }
      } catch (err) {
        failure ??= { error: err };
        fatal.abort();
      }
    };
    await Promise.all([
      loop(options.readIntervalMs, async ({ incoming }, filters) => {
        for (const report of await Promise.all(incoming.map((a) => this.readAccount(a, filters, signal)))) note(report);
      }),
      loop(options.sendIntervalMs, async ({ smtp }, filters) => note(await this.sendCycle(smtp, filters, signal))),
    ]);
    if (failure) throw failure.error;
    return first?.code ?? 0;
  }
}
