// Push for one IMAP account: a long-lived connection waiting in IDLE whose only effect is to ask the
// runner for the account's normal read cycle (debounced) when new mail is announced. Storing, the
// seen state and crash safety stay in the read cycle; the runner's poll stays the safety net.
//
// It never goes silent: IDLE is re-issued at least every `reissueMs` (RFC 2177: under 29 minutes);
// a NOOP every half keepalive that must be answered within the other half notices a dead connection
// within `keepaliveMs`; any end of the connection (BYE, reset, silence, a failed login) is followed
// by a new one after an exponential back-off with jitter, with a fresh credential every time (an
// OAuth account also reconnects before its access token expires). Nothing it meets ends the runner.
// An account that reads several folders has the first of them watched; while none exists yet it is
// polled, and every back-off step looks again.
import type { Account } from '../core/account.js';
import type { DebugLog } from '../protocols/debug-log.js';
import type { OpenWatch } from '../protocols/open.js';
import type { FolderWatch } from '../protocols/types.js';
import type { PushStatus } from '../store/types.js';
import type { Credential, Credentials } from './credentials.js';
import { REUSE_MARGIN_MS } from './oauth/token-manager.js';

export interface PushSettings {
  /** A dead connection is noticed within this long (a NOOP every half, answered within the other half). */
  keepaliveMs: number;
  /** IDLE is re-issued at least this often. */
  reissueMs: number;
  /** Triggered reads of one account are at least this far apart (events in between are folded into one). */
  debounceMs: number;
  /** Wait after the first event, so that a burst is read in one cycle. */
  settleMs: number;
  /** The first reconnect waits about this long, doubling up to `backoffMaxMs` (each with jitter). */
  backoffFirstMs: number;
  backoffMaxMs: number;
  /** A connection that lived this long resets the back-off. */
  stableMs: number;
  /** An OAuth connection is renewed no sooner than this after it was opened. */
  renewFloorMs: number;
}

export const DEFAULT_PUSH: PushSettings = {
  keepaliveMs: 5 * 60_000,
  reissueMs: 25 * 60_000,
  debounceMs: 1000,
  settleMs: 150,
  backoffFirstMs: 1000,
  backoffMaxMs: 5 * 60_000,
  stableMs: 60_000,
  renewFloorMs: 5_000,
};

export interface WatcherDeps {
  openWatch: OpenWatch;
  credentials: Credentials;
  debugLog: (account: Account, secret: string | undefined) => Promise<DebugLog | undefined>;
  clock: () => Date;
  /** Milliseconds from a clock that never jumps. */
  monotonic: () => number;
  /** In [0, 1): the jitter of the back-off. */
  random?: () => number;
}

export interface WatcherHooks {
  /** New mail was announced (debounced): read the account now. */
  newMail(): void;
  /** Watching again after a drop: mail may have come in between, read the account now. */
  resumed(): void;
  /** The push state changed (for `mailbox status`). */
  state(status: PushStatus): void;
  /** Words for the run log: watching has failed several times in a row, or works again after that. */
  notice?(text: string): void;
  /** The watching connection opened (true: it is in IDLE) or closed (false). */
  connection?(open: boolean): void;
}

/** Connections failed in a row before the run log hears of it (a single drop that mends itself stays quiet). */
const FAILURES_TO_TELL = 3;

/** The poll reason while an account that reads several folders has none on the server yet. */
export const NO_FOLDER_YET = "no folder to watch yet: none matches the account's folders";

/** The back-off before reconnect `attempt` (0-based): doubling from `first` up to `max`, with the upper half jittered. */
export function backoffMs(attempt: number, settings: Pick<PushSettings, 'backoffFirstMs' | 'backoffMaxMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(settings.backoffMaxMs, settings.backoffFirstMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/**
 * When to reconnect so that the next login gets a fresh access token: once the token manager would
 * no longer reuse it (`REUSE_MARGIN_MS` before expiry), or at three quarters of a shorter life.
 */
export function renewDelayMs(credential: Credential | undefined, nowMs: number, floorMs = DEFAULT_PUSH.renewFloorMs): number | undefined {
  const expiresAt = credential?.token?.expiresAt;
  if (expiresAt === undefined) return undefined;
  const left = expiresAt - nowMs;
  const pastMargin = left - REUSE_MARGIN_MS + 1_000;
  return Math.max(floorMs, pastMargin > left / 2 ? pastMargin : left * 0.75);
}

/** Resolves after `ms`, or at once when `signal` aborts; the timer holds nothing when aborted. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class AccountWatcher {
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  private status: PushStatus = { mode: 'push', state: 'connecting', since: null, lastEventAt: null, reconnects: 0, reason: null, folder: null };
  private timer: NodeJS.Timeout | undefined;
  private lastFired = -Infinity;

  constructor(
    readonly account: Account,
    private readonly deps: WatcherDeps,
    private readonly settings: PushSettings,
    private readonly hooks: WatcherHooks,
  ) {}

  start(): void {
    this.running ??= this.loop().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearTimeout(this.timer);
    await this.running;
  }

  private set(change: Partial<PushStatus>): void {
    this.status = { ...this.status, ...change };
    this.hooks.state({ ...this.status });
  }

  /** An announcement: one read soon, and no more than one per debounce interval. */
  private onNewMail(): void {
    if (this.stopping.signal.aborted) return;
    this.set({ lastEventAt: this.deps.clock().toISOString() });
    if (this.timer) return;
    const wait = Math.max(this.settings.settleMs, this.lastFired + this.settings.debounceMs - this.deps.monotonic());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastFired = this.deps.monotonic();
      if (!this.stopping.signal.aborted) this.hooks.newMail();
    }, wait);
  }

  private async loop(): Promise<void> {
    const stop = this.stopping.signal;
    let attempt = 0;
    // Mail may have come in unwatched: after a drop, or while no folder was there to watch.
    let missed = false;
    let failedInRow = 0;
    let told = false;
    while (!stop.aborted) {
      let debug: DebugLog | undefined;
      let watch: FolderWatch | undefined;
      let why: unknown;
      let renewed = false;
      let noFolder = false;
      let open = false;
      let openedAt = this.deps.monotonic();
      try {
        // A fresh credential for every connection: an OAuth access token may have been refreshed.
        const credential = await this.deps.credentials.get(this.account, stop);
        debug = await this.deps.debugLog(this.account, credential?.secret);
        if (stop.aborted) break;
        openedAt = this.deps.monotonic();
        const opening = this.deps.openWatch(this.account, { secret: credential?.secret, debug, onNewMail: () => this.onNewMail() });
        // A stop does not wait for a connection under way: it is closed whenever it comes.
        const opened = await Promise.race([opening, new Promise<'stopped'>((resolve) => stop.addEventListener('abort', () => resolve('stopped'), { once: true }))]);
        if (opened === 'stopped') {
          void opening.then((late) => late?.close(), () => undefined);
          break;
        }
        if (opened === null) noFolder = true;
        else {
          watch = opened;
          if (stop.aborted) break;
          if (!watch.canIdle) {
            this.set({ mode: 'poll', state: null, since: null, reason: 'the server does not offer IDLE', folder: null });
            return;
          }
          watch.idle();
          open = true;
          this.hooks.connection?.(true);
          this.set({ mode: 'push', state: 'watching', since: this.deps.clock().toISOString(), reason: null, folder: watch.folder });
          failedInRow = 0;
          if (told) this.hooks.notice?.(`push for ${this.account.name}: watching again`);
          told = false;
          if (missed) this.hooks.resumed();
          missed = true;
          ({ why, renewed } = await this.live(watch, credential));
        }
      } catch (err) {
        why = err;
      } finally {
        watch?.close();
        if (open) this.hooks.connection?.(false);
        debug?.close();
      }
      if (stop.aborted) break;
      if (this.deps.monotonic() - openedAt >= this.settings.stableMs) attempt = 0;
      const wait = renewed ? 0 : backoffMs(attempt++, this.settings, this.deps.random);
      if (noFolder) {
        // Not a failure: the poll reads the account meanwhile, and the next step looks again.
        missed = true;
        this.set({ mode: 'poll', state: null, since: null, reason: NO_FOLDER_YET, folder: null });
        await sleep(wait, stop);
        continue;
      }
      if (!renewed && ++failedInRow === FAILURES_TO_TELL) {
        told = true;
        this.hooks.notice?.(`push for ${this.account.name}: ${FAILURES_TO_TELL} connections in a row failed (${messageOf(why)}); it is read at the read interval meanwhile, and reconnects go on`);
      }
      this.set({ mode: 'push', state: 'reconnecting', since: null, reconnects: this.status.reconnects + 1, reason: renewed ? 'the access token is due for renewal' : messageOf(why), folder: null });
      await sleep(wait, stop);
    }
  }

  /** Keeps one connection alive until it ends; says why, and whether it was left to renew the token. */
  private async live(watch: FolderWatch, credential: Credential | undefined): Promise<{ why: unknown; renewed: boolean }> {
    const stop = this.stopping.signal;
    const half = Math.max(1, Math.floor(this.settings.keepaliveMs / 2));
    const tick = Math.min(half, this.settings.reissueMs);
    const renewIn = renewDelayMs(credential, this.deps.clock().getTime(), this.settings.renewFloorMs);
    const renewAt = renewIn === undefined ? Infinity : this.deps.monotonic() + renewIn;
    let closed: Error | undefined;
    void watch.closed.then((err) => (closed = err));
    const ended = new AbortController();
    void watch.closed.then(() => ended.abort());
    const either = AbortSignal.any([stop, ended.signal]);
    while (!stop.aborted) {
      const untilRenew = renewAt - this.deps.monotonic();
      if (untilRenew <= 0) return { why: undefined, renewed: true };
      await sleep(Math.min(tick, untilRenew), either);
      if (stop.aborted) break;
      if (closed) return { why: closed, renewed: false };
      if (renewAt - this.deps.monotonic() <= 0) return { why: undefined, renewed: true };
      try {
        await watch.refresh(half);
      } catch (err) {
        return { why: err, renewed: false };
      }
    }
    return { why: undefined, renewed: false };
  }
}
