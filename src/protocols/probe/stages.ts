// The staged probe's bookkeeping: each stage timed, recorded, and the first failure ends the run.
import { performance } from 'node:perf_hooks';
import type { Account } from '../../core/account.js';
import { MailboxError, type ErrorCode, type Fix } from '../../core/errors.js';
import type { Peer } from '../net/peer.js';

const STAGE_NAMES = ['resolve', 'connect', 'tls', 'greeting', 'capabilities', 'token', 'login', 'probe', 'send'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

export interface StageResult {
  /** `destination`: an incoming account's --deliver, checked after the probe by the test command (issue 13). */
  name: StageName | 'destination';
  ok: boolean;
  ms: number;
  /** One line for people. */
  detail: string;
  /** The same facts for scripts (TLS session, capabilities, mailbox numbers, server reply). */
  data?: Record<string, unknown>;
}

export interface ProbeError {
  code: ErrorCode;
  message: string;
  hint: string | null;
  /** Account settings that would fix it (the CLI words them). */
  fixes?: Fix[];
  account?: string;
}

export interface ProbeResult {
  account: string;
  type: Account['type'];
  /** host:port and security, for the heading. */
  server: string;
  security: Account['security'];
  ok: boolean;
  ms: number;
  stages: StageResult[];
  warnings: string[];
  error: ProbeError | null;
  /** The exit code of the error (0 when ok). */
  exitCode: number;
}

export interface StageOutcome<T> {
  value: T;
  detail: string;
  data?: Record<string, unknown>;
}

/** Thrown at the stage the run was asked to stop before (discovery stops before the login). */
export class ProbeStopped extends Error {}

/** Thrown to stop the run after a stage failed; the failure is already recorded. */
export class StageFailed extends Error {
  constructor(readonly error: MailboxError) {
    super(error.message);
  }
}

export class StageRecorder {
  readonly stages: StageResult[] = [];
  readonly warnings: string[] = [];

  constructor(
    private readonly peer: Peer,
    /** Stop here, successfully, before anything of this stage is sent. */
    private readonly stopBefore?: StageName,
  ) {}

  warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }

  /** Time spent in stages run inside another one (the token inside the login): not the outer stage's. */
  private nestedMs = 0;
  private running = 0;

  async run<T>(name: StageName, body: () => Promise<StageOutcome<T>>): Promise<T> {
    if (name === this.stopBefore) throw new ProbeStopped();
    const started = performance.now();
    const nestedBefore = this.nestedMs;
    const outer = this.running > 0 ? this.peer.stage : undefined;
    const ms = () => Math.round(performance.now() - started - (this.nestedMs - nestedBefore));
    this.peer.stage = name;
    this.running++;
    try {
      const outcome = await body();
      this.stages.push({ name, ok: true, ms: ms(), detail: outcome.detail, ...(outcome.data ? { data: outcome.data } : {}) });
      return outcome.value;
    } catch (err) {
      // A stage run inside this one failed and is recorded: it, not this one, is where the account stopped.
      if (err instanceof StageFailed) throw err;
      // Failures are made where they happen; anything else (a bug) still gets a code and the account.
      const error = err instanceof MailboxError ? err : this.peer.system(err);
      this.stages.push({ name, ok: false, ms: ms(), detail: error.message });
      throw new StageFailed(error);
    } finally {
      this.running--;
      if (outer !== undefined) {
        this.nestedMs += performance.now() - started;
        this.peer.stage = outer;
      }
    }
  }
}
