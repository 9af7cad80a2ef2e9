// `mailbox status --check`: whether mail flows, from what the runner writes (its heartbeat, each
// account's last cycle), the queue and the settings. Each problem carries the exit code of its kind;
// the command exits with the worst: the runner gone or hung (69: nothing flows), a configuration
// problem (78), an account that needs authorization or whose login is refused (77), an account that
// cannot be reached (69); warnings alone (paused, slow, mail waiting long) exit 75. No I/O here.
import type { AccountView } from '../core/account.js';
import { ExitCode } from '../core/errors.js';
import type { Problems } from '../core/problems.js';
import { formatDuration } from '../core/validate.js';
import { pausedJobs, type Settings } from '../core/settings.js';
import type { EmailRecord, RunStatus } from '../store/types.js';
import { HEARTBEAT_MS } from './run-status.js';

export type HealthKind = 'runner-down' | 'runner-hung' | 'configuration' | 'needs-authorization' | 'account-failing' | 'read-stale' | 'queue-stale' | 'paused';

export interface HealthProblem {
  kind: HealthKind;
  level: 'critical' | 'warning';
  /** The account it concerns, if any. */
  account: string | null;
  message: string;
  exitCode: number;
}

export interface HealthInput {
  accounts: readonly AccountView[];
  problems: Problems;
  status: RunStatus;
  /** The pid holding the run lock, or null. */
  runnerPid: number | null;
  waiting: readonly EmailRecord[];
  settings: Settings;
  now: Date;
  /** Default: 3 read intervals of the runner (2 minutes when it never said). */
  maxReadAgeMs?: number;
  /** Default: one hour. */
  maxQueueAgeMs?: number;
}

export interface Health {
  ok: boolean;
  exitCode: number;
  problems: HealthProblem[];
  /** One line: what is fine, or the problems counted. */
  summary: string;
  limits: { maxReadAgeMs: number; maxQueueAgeMs: number };
}

const DEFAULT_READ_INTERVAL_MS = 120_000;
export const DEFAULT_MAX_QUEUE_AGE_MS = 3_600_000;
/** A heartbeat this old means the runner hangs (its timer has not fired three times). */
const HUNG_AFTER_MS = 3 * HEARTBEAT_MS;

/** The exit codes of a failed cycle that are worth their own kind; anything else is "cannot be reached" (69). */
function failingKind(code: number | undefined): { kind: HealthKind; exitCode: number } {
  if (code === ExitCode.noPerm) return { kind: 'needs-authorization', exitCode: ExitCode.noPerm };
  if (code === ExitCode.config) return { kind: 'configuration', exitCode: ExitCode.config };
  return { kind: 'account-failing', exitCode: ExitCode.unavailable };
}

/** Critical kinds, worst first: the exit code is that of the first one present. */
const WORST_FIRST: HealthKind[] = ['runner-down', 'runner-hung', 'configuration', 'needs-authorization', 'account-failing'];

function ago(ms: number): string {
  return formatDuration(Math.max(1000, Math.round(ms / 1000) * 1000));
}

export function checkHealth(input: HealthInput): Health {
  const { status, now, settings } = input;
  const beat = status.runner;
  const readIntervalMs = beat?.readIntervalMs ?? DEFAULT_READ_INTERVAL_MS;
  const maxReadAgeMs = input.maxReadAgeMs ?? 3 * readIntervalMs;
  const maxQueueAgeMs = input.maxQueueAgeMs ?? DEFAULT_MAX_QUEUE_AGE_MS;
  const problems: HealthProblem[] = [];
  const add = (kind: HealthKind, level: HealthProblem['level'], account: string | null, message: string, exitCode: number) => problems.push({ kind, level, account, message, exitCode });
  const nowMs = now.getTime();

  if (input.runnerPid === null) add('runner-down', 'critical', null, 'the runner is not running: nothing is read or sent (mailbox run)', ExitCode.unavailable);
  else if (beat && beat.pid === input.runnerPid && nowMs - Date.parse(beat.heartbeatAt) > HUNG_AFTER_MS) {
    add('runner-hung', 'critical', null, `the runner (pid ${input.runnerPid}) has written no heartbeat for ${ago(nowMs - Date.parse(beat.heartbeatAt))}: it hangs`, ExitCode.unavailable);
  }
  for (const job of pausedJobs(settings)) add('paused', 'warning', null, `${job} is paused (mailbox resume ${job})`, ExitCode.tempFail);

  // Since when this runner runs (the beat is its own): an account it has not read yet is not late before then.
  const runningSince = beat && beat.pid === input.runnerPid && beat.stoppedAt === null ? Date.parse(beat.startedAt) : undefined;
  for (const account of input.accounts.filter((a) => a.active)) {
    const problem = input.problems.get(account.name.toLowerCase());
    if (problem) {
      add('configuration', 'critical', account.name, problem.message, ExitCode.config);
      continue;
    }
    const last = status.accounts[account.name.toLowerCase()];
    // A refused login or missing authorization does not heal by waiting: reported at once.
    if (last && !last.ok && last.exitCode === ExitCode.noPerm) {
      add('needs-authorization', 'critical', account.name, `account ${account.name}: ${last.error ?? 'authentication failed'}`, ExitCode.noPerm);
      continue;
    }
    // Nor does a configuration error its last cycle met (a secret missing, a destination refused): at once too.
    if (last && !last.ok && last.exitCode === ExitCode.config) {
      add('configuration', 'critical', account.name, `account ${account.name}: ${last.error ?? 'configuration error'}`, ExitCode.config);
      continue;
    }
    if (account.type === 'smtp' || settings.readingPaused) continue;
    const lastOk = last?.lastSuccessAt ? Date.parse(last.lastSuccessAt) : undefined;
    const since = lastOk ?? runningSince;
    if (since !== undefined && nowMs - since <= maxReadAgeMs) continue;
    if (since === undefined && input.runnerPid === null) {
      add('read-stale', 'warning', account.name, `account ${account.name} has never been read`, ExitCode.tempFail);
      continue;
    }
    const age = since === undefined ? 'never' : `${ago(nowMs - since)} ago`;
    const what = `account ${account.name}: last successful read ${age} (limit ${formatDuration(maxReadAgeMs)})`;
    if (last && !last.ok) {
      const { kind, exitCode } = failingKind(last.exitCode);
      add(kind, 'critical', account.name, `${what}; last error: ${last.error ?? last.summary}`, exitCode);
    } else add('read-stale', 'warning', account.name, `${what}: reading is slow`, ExitCode.tempFail);
  }

  const oldest = input.waiting.reduce<EmailRecord | undefined>((o, r) => (!o || r.createdAt < o.createdAt ? r : o), undefined);
  if (oldest && nowMs - Date.parse(oldest.createdAt) > maxQueueAgeMs) {
    const late = input.waiting.filter((r) => nowMs - Date.parse(r.createdAt) > maxQueueAgeMs).length;
    add('queue-stale', 'warning', null, `${late} queued message${late === 1 ? '' : 's'} waiting longer than ${formatDuration(maxQueueAgeMs)} (the oldest since ${ago(nowMs - Date.parse(oldest.createdAt))}${oldest.error ? `; last error: ${oldest.error}` : ''})`, ExitCode.tempFail);
  }

  const worst = WORST_FIRST.map((kind) => problems.find((p) => p.kind === kind && p.level === 'critical')).find(Boolean);
  const exitCode = worst ? worst.exitCode : problems.length ? ExitCode.tempFail : 0;
  const readers = input.accounts.filter((a) => a.active && a.type !== 'smtp').length;
  const summary = problems.length
    ? `${exitCode === ExitCode.tempFail ? 'WARNING' : 'CRITICAL'}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`
    : `OK: runner up (pid ${input.runnerPid}), ${readers} account${readers === 1 ? '' : 's'} read within ${formatDuration(maxReadAgeMs)}, ${input.waiting.length} queued${settings.redirectTo ? `, outgoing mail redirected to ${settings.redirectTo}` : ''}`;
  return { ok: problems.length === 0, exitCode, problems, summary, limits: { maxReadAgeMs, maxQueueAgeMs } };
}
