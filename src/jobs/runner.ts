// The runner: holds the store's lock, reads every active incoming account every read interval and
// sends the queue every send interval, until stopped. One account failing never stops the others.
// With `once`, one read cycle and one send cycle; the result says whether every account succeeded.
import type { Account, AccountView } from '../core/account.js';
import { MailboxError } from '../core/errors.js';
import { filterFor, type AddressFilter } from '../core/filter.js';
import { sameName } from '../core/rules.js';
import type { DebugLog } from '../protocols/debug-log.js';
import type { Incoming, Outgoing } from '../protocols/types.js';
import type { Stores } from '../store/local-store.js';
import { RunStatusStore, type RunStatus } from '../store/run-status.js';
import type { SecretStore } from '../store/secrets.js';
import { readImap, readPop3, type ReadResult } from './reader.js';
import { recoverIncoming } from './recover.js';
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

export interface RunnerDeps {
  stores: Stores;
  snapshot: () => Promise<Snapshot>;
  secrets: SecretStore;
  logDir: string;
  clock: () => Date;
  pid: number;
  isAlive: (pid: number) => boolean;
  report: (report: CycleReport) => void;
  /** Notes for the admin (recovery after a crash, a lock taken over). */
  notice: (text: string) => void;
  progress?: (account: string, done: number, total: number) => void;
  openIncoming?: (account: Account, secret: string, debug?: DebugLog) => Promise<Incoming>;
  openOutgoing?: (account: Account, secret: string | undefined, debug?: DebugLog) => Promise<Outgoing>;
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

export class Runner {
  private status: RunStatus = { accounts: {} };
  private statusWrite: Promise<void> = Promise.resolve();

  constructor(private readonly deps: RunnerDeps) {}

  private async debugLog(account: Account, secret: string | undefined): Promise<DebugLog | undefined> {
    if (!account.debug) return undefined;
    const { openDebugLog, debugLogPath } = await import('../protocols/debug-log.js');
    return openDebugLog(debugLogPath(this.deps.logDir, account.name), {
      protocol: account.type,
      secrets: secret ? [secret] : [],
      user: account.user,
      account: account.name,
    });
  }

  private async openIncoming(account: Account, secret: string, debug?: DebugLog): Promise<Incoming> {
    if (this.deps.openIncoming) return this.deps.openIncoming(account, secret, debug);
    if (account.type === 'imap') {
      const { openImapReader } = await import('../protocols/imap/reader.js');
      return openImapReader(account, { secret, debug, readWrite: Boolean(account.deleteAfterDownload) });
    }
    const { openPop3Reader } = await import('../protocols/pop3/reader.js');
    return openPop3Reader(account, { secret, debug });
  }

  private async openOutgoing(account: Account, secret: string | undefined, debug?: DebugLog): Promise<Outgoing> {
    if (this.deps.openOutgoing) return this.deps.openOutgoing(account, secret, debug);
    const { openSmtpSender } = await import('../protocols/smtp/sender.js');
    return openSmtpSender(account, { secret, debug });
  }

  private async secretOf(account: Account): Promise<string | undefined> {
    return account.secret ? this.deps.secrets.resolve(account.secret, account.name) : undefined;
  }

  private finish(report: Omit<CycleReport, 'time' | 'durationMs'>, started: Date): CycleReport {
    const at = this.deps.clock();
    const full: CycleReport = { ...report, time: at.toISOString(), durationMs: at.getTime() - started.getTime() };
    RunStatusStore.record(this.status, report.account, { job: report.job, at, ok: report.ok, summary: report.summary, error: report.error?.message ?? null });
    const snapshot = JSON.parse(JSON.stringify(this.status)) as RunStatus;
    this.statusWrite = this.statusWrite.then(() => this.deps.stores.status.save(snapshot)).catch(() => undefined);
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
      const secret = (await this.secretOf(account)) ?? '';
      debug = await this.debugLog(account, secret);
      incoming = await this.openIncoming(account, secret, debug);
      if (signal.aborted) throw new MailboxError('ETEMPFAIL', 'stopped');
      const deps = {
        stores: this.deps.stores,
        filter: filterFor(filters, 'inbound', account.filter),
        clock: this.deps.clock,
        signal,
        onProgress: this.deps.progress ? (done: number, total: number) => this.deps.progress!(account.name, done, total) : undefined,
      };
      const result = account.type === 'imap' ? await readImap(incoming, account, deps) : await readPop3(incoming, account, deps);
      if (signal.aborted) incoming.abort();
      else await incoming.close();
      return this.finish(this.readReport(account, result, null), started);
    } catch (err) {
      incoming?.abort();
      const partial = (err as { partial?: ReadResult }).partial;
      const error = signal.aborted ? null : asMailboxError(err);
      return this.finish(this.readReport(account, partial, error), started);
    } finally {
      signal.removeEventListener('abort', abort);
      debug?.close();
    }
  }

  private readReport(account: Account, result: ReadResult | undefined, error: MailboxError | null): Omit<CycleReport, 'time' | 'durationMs'> {
    const r = result ?? { received: 0, ignored: 0, duplicates: 0, tooLarge: [], leftTooLarge: 0, deleted: 0, notes: [] };
    const notes = [...r.notes, ...r.tooLarge.map((m) => `message ${m.key} (${m.size} bytes) is over the maximum size of ${account.maxMessageSize} bytes: left on the server`)];
    const done = describeRead(r);
    return {
      job: 'read',
      account: account.name,
      ok: error === null,
      summary: error ? `${error.message}${result ? ` (before that: ${done})` : ''}` : done,
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
          debug = await this.debugLog(smtp, secret);
          return this.openOutgoing(smtp, secret, debug);
        },
      });
      const error = summary.failure === undefined ? null : await this.smtpFailure(summary.failure, smtp);
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

  private async smtpFailure(err: unknown, smtp: Account): Promise<MailboxError> {
    if (err instanceof MailboxError) return err;
    const { smtpAccountFailure } = await import('../protocols/smtp/failures.js');
    return smtpAccountFailure(err, smtp);
  }

  /** Accounts this run works on: active ones, narrowed to --account names (unknown names are an error). */
  private select(snapshot: Snapshot, names: string[]): { incoming: Account[]; smtp: Account | undefined } {
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

  /** Runs until `options.signal` (or once). Resolves with the exit code. */
  async run(options: RunOptions): Promise<number> {
    const { stores, clock } = this.deps;
    const first = await this.deps.snapshot();
    const { incoming: initial, smtp: initialSmtp } = this.select(first, options.accounts);
    for (const name of options.accounts) {
      const named = first.accounts.find((a) => sameName(a.name, name));
      if (named && !named.active) this.deps.notice(`account ${named.name} is not active: it is left out (mailbox activate ${named.name})`);
    }
    // Heavy libraries load while the lock, the recovery and the first connections are set up.
    const { preloadAdapters } = await import('../protocols/open.js');
    if (!this.deps.openIncoming) preloadAdapters(initial);
    if (!this.deps.openOutgoing && initialSmtp) preloadAdapters([initialSmtp]);
    const { acquireRunLock } = await import('../store/run-lock.js');
    const lock = await acquireRunLock(stores.lockFile, { pid: this.deps.pid, isAlive: this.deps.isAlive });
    this.status = await stores.status.load();
    await stores.mail.prepare();
    if (lock.tookOverFrom !== null) {
      this.deps.notice(`the previous runner (pid ${lock.tookOverFrom}) did not stop cleanly; its lock was taken over and its last work checked`);
      const incomingAll = first.accounts.filter((a) => a.type !== 'smtp');
      for (const note of await recoverIncoming(stores, incomingAll, clock)) this.deps.notice(note);
    }
    for (const note of await stores.queue.recover()) this.deps.notice(note);
    await stores.mail.clean('inbox', 0); // only the runner stages incoming mail there
    await stores.mail.clean('outbox', 3_600_000); // `mailbox send` may be writing right now
    if (initial.length === 0 && !first.accounts.some((a) => a.type === 'smtp' && a.active)) {
      this.deps.notice('no active account: nothing to read or send (mailbox list shows the accounts)');
    }

    const reports: CycleReport[] = [];
    const readLoop = async () => {
      while (!options.signal.aborted) {
        const started = Date.now();
        const snapshot = await this.deps.snapshot();
        const { incoming } = this.select(snapshot, options.accounts);
        reports.push(...(await Promise.all(incoming.map((a) => this.readAccount(a, snapshot.filters, options.signal)))));
        if (options.once) return;
        await abortableSleep(Math.max(0, options.readIntervalMs - (Date.now() - started)), options.signal);
      }
    };
    const sendLoop = async () => {
      while (!options.signal.aborted) {
        const started = Date.now();
        const snapshot = await this.deps.snapshot();
        const { smtp } = this.select(snapshot, options.accounts);
        const report = await this.sendCycle(smtp, snapshot.filters, options.signal);
        if (report) reports.push(report);
        if (options.once) return;
        await abortableSleep(Math.max(0, options.sendIntervalMs - (Date.now() - started)), options.signal);
      }
    };
    await Promise.all([readLoop(), sendLoop()]);
    await this.statusWrite;
    await lock.release();
    if (!options.once) return 0;
    const order = (r: CycleReport) => (r.job === 'read' ? initial.findIndex((a) => sameName(a.name, r.account)) : initial.length);
    const failed = reports.filter((r) => !r.ok).sort((a, b) => order(a) - order(b))[0];
    return failed?.error?.exitCode ?? 0;
  }
}
