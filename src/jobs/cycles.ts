// One cycle of one account: read an incoming account, or send the queue through the SMTP account.
// Each opens what it needs through the adapters, runs the job, and says what happened (never throws).
import type { Account } from '../core/account.js';
import { MailboxError } from '../core/errors.js';
import type { AddressFilter } from '../core/filter.js';
import { filterOf } from '../core/problems.js';
import type { DebugLog } from '../protocols/debug-log.js';
import type { OpenIncoming, OpenOutgoing, OpenWatch } from '../protocols/open.js';
import type { Incoming } from '../protocols/types.js';
import type { SecretStore } from '../store/secrets.js';
import type { Stores } from '../store/types.js';
import { credentialResolver, explainRefusal, type Credential } from './credentials.js';
import type { TokenManager } from './oauth/token-manager.js';
import { emptyHandOff, handOffDue, type HandOffSummary, type OpenTarget } from './handoff.js';
import { emptyResult, type ReadDeps, type ReadOutcome, type ReadProgress, type ReadResult } from './read-common.js';
import { readImap } from './read-imap.js';
import { readPop3 } from './read-pop3.js';
import { sendQueue, type SendSummary } from './sender.js';
import { settingsOf, type Settings } from '../core/settings.js';

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
  /** What the pause switches stop at the time of the cycle (settings reading/sending); stamped by the runner. */
  paused?: Array<'reading' | 'sending'>;
  /** Set on the line of a cycle a pause switch stopped: nothing was read or sent. */
  pausedCycle?: boolean;
  /** Send cycles: the test redirect in effect (setting redirect-to), or null. */
  redirectTo?: string | null;
  /** A read asked for by push (new mail announced over IMAP IDLE, or watching resumed); absent: by the interval. */
  trigger?: 'push';
}

/** A cycle's report before the runner stamps its time. */
export type CycleOutcome = Omit<CycleReport, 'time' | 'durationMs'>;

/** The protocol side, chosen at the edge (src/protocols/open.ts). */
export interface Adapters {
  openIncoming: OpenIncoming;
  openOutgoing: OpenOutgoing;
  /** Push: an IMAP folder watched over IDLE; absent: no push (the accounts are polled). */
  openWatch?: OpenWatch;
  /** Starts loading the libraries these accounts need, while the runner sets up. */
  preload: (accounts: readonly Pick<Account, 'type'>[]) => void;
  /** The error for a send cycle stopped by its connection or login. */
  sendFailure: (err: unknown, account: Account) => MailboxError | Promise<MailboxError>;
}

export interface CycleDeps {
  stores: Stores;
  secrets: Pick<SecretStore, 'resolve'>;
  /** OAuth 2.0 access tokens of accounts with a profile (the credential resolver asks it). */
  tokens?: TokenManager;
  adapters: Adapters;
  /** The account's debug log when its debug flag is on (the secret is scrubbed from it). */
  debugLog: (account: Account, secret: string | undefined) => Promise<DebugLog | undefined>;
  clock: () => Date;
  /** Milliseconds from a clock that never jumps. */
  monotonic: () => number;
  progress?: (account: string, progress: ReadProgress) => void;
  /** The runner's record of what this store sent, for the loop guard (absent: read per cycle). */
  sentIds?: SentMessageIds;
  /** Opens an account's destination (issue 13); without it, hand-offs wait (pending). */
  openTarget?: OpenTarget;
}

function asMailboxError(err: unknown): MailboxError {
  if (err instanceof MailboxError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.syscall) return new MailboxError('EIO', `local I/O failed: ${e.message}`, { cause: err });
  return new MailboxError('EINTERNAL', `internal error: ${e?.message ?? String(err)}`, { cause: err });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function describeRead(r: ReadResult): string {
  const parts = [r.received || r.ignored || r.duplicates ? `${r.received} new` : 'no new mail'];
  if (r.ignored) parts.push(`${r.ignored} skipped (sender blocked or an inbound guard)`);
  if (r.duplicates) parts.push(`${r.duplicates} already stored`);
  if (r.leftTooLarge) parts.push(`${plural(r.leftTooLarge, 'message')} over the maximum size left on the server`);
  if (r.deleted) parts.push(`${r.deleted} deleted from the server`);
  return parts.join(', ');
}

function describeSend(s: SendSummary & { allowed?: number }): string {
  const parts = [s.sent ? `${s.sent} sent` : 'nothing sent'];
  if (s.failed) parts.push(`${s.failed} failed`);
  if (s.retrying) parts.push(`${s.retrying} to retry`);
  if (s.ignored) parts.push(`${s.ignored} ignored (every recipient blocked)`);
  if (s.dropped.length) parts.push(`blocked recipients dropped: ${s.dropped.join(', ')}`);
  if (s.waiting) parts.push(`${s.waiting} waiting`);
  if (s.throttled) parts.push(`${s.throttled} waiting for the throttle (max ${plural(s.allowed ?? 0, 'message')} a minute)`);
  return parts.join(', ');
}

/**
 * Opens with the account's credential; once more with a refreshed token when the server refused an
 * access token that looked valid. The debug log, opened with the first, learns the second to scrub it.
 */
async function openWith<T>(deps: CycleDeps, account: Account, open: (credential: Credential | undefined, debug: DebugLog | undefined) => Promise<T>, onDebug: (debug: DebugLog | undefined) => void, signal: AbortSignal): Promise<T> {
  const credentials = credentialResolver(deps);
  const first = await credentials.get(account, signal);
  const debug = await deps.debugLog(account, first?.secret);
  onDebug(debug);
  try {
    return await open(first, debug);
  } catch (err) {
    const again = await credentials.retry(account, first, err);
    if (!again) throw explainRefusal(account, first, err);
    debug?.addSecret(again.secret);
    return open(again, debug).catch((second: unknown) => Promise.reject(explainRefusal(account, again, second)));
  }
}

function describeHandOff(account: Account, h: HandOffSummary): string {
  if (!h.delivered && !h.retrying && !h.failed) return '';
  const parts = [`${h.delivered} handed off to ${account.deliver}`];
  if (h.retrying) parts.push(`${h.retrying} to retry`);
  if (h.failed) parts.push(`${h.failed} delivery-failed`);
  return parts.join(', ');
}

function readReport(account: Account, r: ReadResult, error: MailboxError | null, partial: boolean, h: HandOffSummary = emptyHandOff()): CycleOutcome {
  const notes = [...r.notes, ...h.notes];
  const done = [describeRead(r), describeHandOff(account, h)].filter(Boolean).join(', ');
  return {
    job: 'read',
    account: account.name,
    ok: error === null,
    summary: error ? `${error.message}${partial ? ` (before that: ${done})` : ''}` : done,
    counts: {
      received: r.received,
      ignored: r.ignored,
      bytes: r.bytes,
      duplicates: r.duplicates,
      tooLarge: r.tooLarge.length,
      leftTooLarge: r.leftTooLarge,
      deleted: r.deleted,
      ...(account.deliver ? { handedOff: h.delivered, handOffRetrying: h.retrying, handOffFailed: h.failed } : {}),
    },
    error,
    notes,
  };
}

/**
 * The Message-IDs of the mail this store sent (the loop guard): read from the email log once, on the
 * first message that needs it, then kept current by the send cycles of the same runner, so a long log
 * is read once per runner, not once per cycle. In a fleet the other workers send too: reloadEvery()
 * makes it read the log again once the list is older than that.
 */
export class SentMessageIds {
  private loaded: Promise<Set<string>> | undefined;
  private loadedAt = 0;
  private reload: { everyMs: number; now: () => number } | undefined;

  constructor(private readonly log: Stores['log']) {}

  reloadEvery(everyMs: number, now: () => number): void {
    this.reload = { everyMs, now };
  }

  get(): Promise<ReadonlySet<string>> {
    const now = this.reload?.now() ?? 0;
    if (this.reload && now - this.loadedAt >= this.reload.everyMs) this.loaded = undefined;
    if (this.loaded) return this.loaded;
    this.loadedAt = now;
    return (this.loaded = (async () => {
      const ids = new Set<string>();
      await this.log.scan((r) => {
        if (r.messageId && r.recipients !== undefined) ids.add(r.messageId);
      });
      return ids;
    })());
  }

  /** A message just sent (before the log is read, the read finds it there). */
  add(messageId: string | null): void {
    if (messageId) void this.loaded?.then((ids) => ids.add(messageId));
  }
}

/** Reads one incoming account once, then hands off what is due (issue 13). A stop (`signal`) is not a failure. */
export async function readCycle(deps: CycleDeps, account: Account, filters: AddressFilter[], signal: AbortSignal, settings: Settings = settingsOf(undefined)): Promise<CycleOutcome> {
  let debug: DebugLog | undefined;
  let incoming: Incoming | undefined;
  const abort = () => incoming?.abort();
  signal.addEventListener('abort', abort, { once: true });
  // Once per cycle: after the download, or before delete-after-download when that comes first.
  let handedOff: HandOffSummary | undefined;
  const openTarget = deps.openTarget;
  const handOff =
    account.deliver && openTarget
      ? async () => {
          handedOff ??= await handOffDue(account, { stores: deps.stores, open: openTarget, clock: deps.clock, signal });
          return deps.stores.handoffs.undelivered(account.name);
        }
      : undefined;
  // Whatever became of the download, what is stored and due is handed off.
  const report = async (r: ReadResult, error: MailboxError | null, partial: boolean) => {
    if (handOff && !signal.aborted) await handOff().catch((err: unknown) => r.notes.push(`hand-off: ${asMailboxError(err).message}`));
    return readReport(account, r, error, partial, handedOff);
  };
  try {
    // Before anything connects: a filter that is named and missing stops the cycle (fail closed).
    const filter = filterOf(filters, account);
    incoming = await openWith(deps, account, (credential, log) => deps.adapters.openIncoming(account, { secret: credential?.secret ?? '', debug: log }), (log) => (debug = log), signal);
    if (signal.aborted) throw new MailboxError('ETEMPFAIL', 'stopped');
    const readDeps: ReadDeps = {
      stores: deps.stores,
      filter,
      guards: Object.values(settings.guards).some(Boolean) ? { enabled: settings.guards, sentIds: () => (deps.sentIds ?? new SentMessageIds(deps.stores.log)).get() } : undefined,
      clock: deps.clock,
      monotonic: deps.monotonic,
      signal,
      onProgress: deps.progress ? (progress) => deps.progress!(account.name, progress) : undefined,
      handOff,
    };
    const outcome: ReadOutcome = account.type === 'imap' ? await readImap(incoming, account, readDeps) : await readPop3(incoming, account, readDeps);
    if (signal.aborted || outcome.failure !== undefined) incoming.abort();
    else await incoming.close();
    const error = signal.aborted || outcome.failure === undefined ? null : asMailboxError(outcome.failure);
    return await report(outcome.result, error, outcome.failure !== undefined);
  } catch (err) {
    incoming?.abort();
    const error = signal.aborted ? null : asMailboxError(err);
    // A configuration problem (a missing filter) stops the hand-off too; a server out of reach does not.
    if (error?.code === 'ECONFIG') return readReport(account, emptyResult(), error, false);
    return await report(emptyResult(), error, false);
  } finally {
    signal.removeEventListener('abort', abort);
    debug?.close();
  }
}

/**
 * Sends what is due through the SMTP account; without one, says why the queue waits (or nothing when
 * it is empty): no SMTP account is active, or the active one (`leftOut`) is not among this run's accounts.
 */
export async function sendCycle(deps: CycleDeps, smtp: Account | undefined, filters: AddressFilter[], signal: AbortSignal, leftOut?: string, settings: Settings = settingsOf(undefined)): Promise<CycleOutcome | undefined> {
  if (!smtp) {
    const waiting = (await deps.stores.queue.waiting()).length;
    if (waiting === 0) return undefined;
    const why = leftOut ? `this run leaves out the active SMTP account ${leftOut}` : 'no SMTP account is active (mailbox activate NAME)';
    return {
      job: 'send',
      account: '-',
      ok: true,
      summary: `${plural(waiting, 'message')} waiting in the outbox: ${why}`,
      counts: { sent: 0, failed: 0, retrying: 0, ignored: 0, waiting },
      error: null,
      notes: [],
    };
  }
  let debug: DebugLog | undefined;
  try {
    const filter = filterOf(filters, smtp);
    const credentials = credentialResolver(deps);
    // Resolved only when something is due (connect), as a password always was: an empty queue asks nothing.
    let used: Credential | undefined;
    // The throttle: what the account may still send in the minute behind us (sent by any runner, before a restart too).
    const allowance = async () => (smtp.maxPerMinute === undefined ? undefined : Math.max(0, smtp.maxPerMinute - (await deps.stores.queue.sentSince(smtp.name, new Date(deps.clock().getTime() - 60_000)))));
    const sendWith = async (credential: () => Promise<Credential | undefined>) =>
      sendQueue(smtp, {
        queue: deps.stores.queue,
        filter,
        clock: deps.clock,
        signal,
        redirectTo: settings.redirectTo,
        allowance: await allowance(),
        onSent: (record) => deps.sentIds?.add(record.messageId),
        connect: async () => {
          used = await credential();
          if (debug) debug.addSecret(used?.secret ?? '');
          else debug = await deps.debugLog(smtp, used?.secret);
          return deps.adapters.openOutgoing(smtp, { secret: used?.secret, debug });
        },
      });
    let summary: SendSummary & { allowed?: number } = { ...(await sendWith(() => credentials.get(smtp, signal))), allowed: smtp.maxPerMinute };
    let error = summary.failure === undefined ? null : await deps.adapters.sendFailure(summary.failure, smtp);
    // The server refused an access token that looked valid: what was claimed went back untried, so
    // one more pass with a refreshed token sends it.
    const again = error ? await credentials.retry(smtp, used, error) : undefined;
    if (again) {
      const retried = await sendWith(async () => again);
      summary = { ...retried, allowed: smtp.maxPerMinute, bytes: summary.bytes + retried.bytes, sent: summary.sent + retried.sent, failed: summary.failed + retried.failed, retrying: summary.retrying + retried.retrying, ignored: summary.ignored + retried.ignored, dropped: [...summary.dropped, ...retried.dropped] };
      error = summary.failure === undefined ? null : await deps.adapters.sendFailure(summary.failure, smtp);
    }
    if (error) error = explainRefusal(smtp, used, error) as MailboxError;
    const done = describeSend(summary);
    return {
      job: 'send',
      account: smtp.name,
      ok: error === null,
      summary: error ? `${error.message} (${done})` : done,
      counts: { sent: summary.sent, failed: summary.failed, retrying: summary.retrying, ignored: summary.ignored, bytes: summary.bytes, waiting: summary.waiting, dropped: summary.dropped.length, ...(smtp.maxPerMinute === undefined ? {} : { throttled: summary.throttled }) },
      error,
      notes: summary.dropped.map((d) => `blocked recipient dropped: ${d}`),
    };
  } catch (err) {
    const error = asMailboxError(err);
    return { job: 'send', account: smtp.name, ok: false, summary: error.message, counts: {}, error, notes: [] };
  } finally {
    debug?.close();
  }
}
