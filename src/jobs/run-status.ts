// The runner's book of what `mailbox status` shows: per account its last cycle, the last success and
// the last error. Saved after cycles, one write at a time, the latest state winning; flush() waits
// for it (every way out of the runner does).
import type { PushStatus, RunnerBeat, RunStatus, RunStatusStore } from '../store/types.js';

/** How often the runner writes its heartbeat (status --check tells a hung or killed runner by it). */
export const HEARTBEAT_MS = 30_000;

export interface CycleResult {
  job: 'read' | 'send';
  at: Date;
  ok: boolean;
  summary: string;
  error: string | null;
  /** The exit code of the error, for status --check. */
  exitCode?: number;
}

/** Folds one cycle's result into the account's entry. */
function recordCycle(status: RunStatus, account: string, cycle: CycleResult): void {
  const key = account.toLowerCase();
  const previous = status.accounts[key];
  const at = cycle.at.toISOString();
  status.accounts[key] = {
    job: cycle.job,
    at,
    ok: cycle.ok,
    summary: cycle.summary,
    error: cycle.error,
    lastSuccessAt: cycle.ok ? at : (previous?.lastSuccessAt ?? null),
    lastError: cycle.error ? { at, message: cycle.error } : (previous?.lastError ?? null),
    ...(cycle.exitCode !== undefined && !cycle.ok ? { exitCode: cycle.exitCode } : {}),
  };
}

export class StatusBook {
  private status: RunStatus = { accounts: {} };
  private saving: Promise<void> | undefined;
  private dirty = false;

  constructor(private readonly store: RunStatusStore) {}

  async load(): Promise<void> {
    // Push states are of the runner that watches: a new runner starts watching nothing.
    const { push: _left, ...status } = await this.store.load();
    this.status = status;
  }

  record(account: string, cycle: CycleResult): void {
    recordCycle(this.status, account, cycle);
    this.changed();
  }

  /**
   * The runner's heartbeat: it lives (and, with stoppedAt, stopped cleanly). `save` false: kept for
   * the next write (the first cycle's), so that a runner's status file still appears with its first cycle.
   */
  beat(beat: RunnerBeat, save = true): void {
    this.status.runner = beat;
    if (save) this.changed();
  }

  get prunedAt(): string | undefined {
    return this.status.prunedAt;
  }

  pruned(at: Date): void {
    this.status.prunedAt = at.toISOString();
    this.changed();
  }

  /** An account's push state (undefined: none, e.g. not in this run); all of them cleared with `clearPush`. */
  recordPush(account: string, push: PushStatus | undefined): void {
    const all = (this.status.push ??= {});
    if (push) all[account.toLowerCase()] = push;
    else delete all[account.toLowerCase()];
    this.changed();
  }

  /** The runner stops: nothing is watched any more. */
  clearPush(): void {
    if (!this.status.push) return;
    delete this.status.push;
    this.changed();
  }

  private changed(): void {
    this.dirty = true;
    this.saving ??= this.save();
  }

  private async save(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      // A failed write is not worth stopping the runner for: the next cycle writes it again.
      await this.store.save(structuredClone(this.status)).catch(() => undefined);
    }
    this.saving = undefined;
  }

  /** Waits until what was recorded is saved. */
  async flush(): Promise<void> {
    await this.saving;
  }
}
