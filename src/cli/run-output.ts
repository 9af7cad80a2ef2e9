// What `mailbox run` writes while it runs: one line per cycle worth reading (text or JSON), and the
// progress of a large download on a terminal.
import type { CycleReport } from '../jobs/cycles.js';
import type { ReadProgress } from '../jobs/read-common.js';
import { errorJson } from './hints.js';
import type { Io } from './io.js';
import { localTime } from './time.js';

/** Counts that describe what is (waiting, left on the server), not what a cycle did. */
const STATE_COUNTS = new Set(['leftTooLarge', 'waiting', 'throttled']);
const HOUR_MS = 3600_000;

/** Whether the cycle did anything: fetched, stored, sent, failed, deleted, dropped, or has a note. */
function didSomething(report: CycleReport): boolean {
  return report.notes.length > 0 || Object.entries(report.counts).some(([name, n]) => !STATE_COUNTS.has(name) && n > 0);
}

/**
 * A runner polls every minute or two: most cycles do nothing and say what the last one said. Such a
 * cycle is printed only when its line changes (the number waiting, a new failure, a recovery), and
 * otherwise once an hour, so a quiet runner still shows it is alive. Every cycle is still recorded
 * for `mailbox status`.
 */
export class QuietCycles {
  private readonly last = new Map<string, { line: string; at: number; repeats: number }>();

  constructor(
    /** Milliseconds from a clock that never jumps. */
    private readonly monotonic: () => number,
    private readonly quietMs = HOUR_MS,
  ) {}

  /** The number of like cycles not printed since the last line of this account and job, or undefined to print nothing. */
  admit(report: CycleReport): number | undefined {
    const key = `${report.job}\n${report.account.toLowerCase()}`;
    const line = JSON.stringify([report.ok, report.summary, report.error?.code ?? null, report.paused ?? [], report.redirectTo ?? null]);
    const previous = this.last.get(key);
    const now = this.monotonic();
    if (!didSomething(report) && previous && previous.line === line && now - previous.at < this.quietMs) {
      previous.repeats++;
      return undefined;
    }
    const repeats = previous && previous.line === line ? previous.repeats : 0;
    this.last.set(key, { line, at: now, repeats: 0 });
    return repeats;
  }
}

/** One line per account per cycle on stdout: text, or a JSON object per line; `repeats` like cycles were not printed before it. */
export function reportLine(report: CycleReport, json: boolean, repeats = 0): string {
  if (json) {
    return JSON.stringify({
      time: report.time,
      job: report.job,
      account: report.account,
      ...(report.job === 'read' ? { trigger: report.trigger ?? 'poll' } : {}),
      ok: report.ok,
      durationMs: report.durationMs,
      ...report.counts,
      summary: report.summary,
      error: report.error ? errorJson(report.error) : null,
      notes: report.notes,
      paused: report.paused ?? [],
      ...(report.job === 'send' ? { redirectTo: report.redirectTo ?? null } : {}),
      repeats,
    });
  }
  const seconds = (report.durationMs / 1000).toFixed(2);
  const head = `${localTime(report.time)} ${report.job.padEnd(4)} ${report.account}${report.trigger === 'push' ? ' (push)' : ''}`;
  const again = repeats > 0 ? `; the same ${repeats} time${repeats === 1 ? '' : 's'} before, not shown` : '';
  const state = [...(report.paused?.length ? [`paused: ${report.paused.join(', ')}`] : []), ...(report.job === 'send' && report.redirectTo ? [`redirected to ${report.redirectTo}`] : [])];
  const lines = [`${head}: ${report.ok ? '' : 'FAILED: '}${report.summary} (${seconds}s${again})${state.length ? ` [${state.join('; ')}]` : ''}`];
  for (const note of report.notes) lines.push(`${head}: note: ${note}`);
  return lines.join('\n');
}

export interface ProgressLine {
  update(account: string, progress: ReadProgress): void;
  /** Wipes the line, so that whatever is written next starts on a clean line. */
  clear(): void;
}

/** "read work-imap: 3000/5000 stored (3739 fetched)" on one terminal line, redrawn at most 5 times a second. */
export function progressLine(stderr: Io['stderr'], now: () => number = Date.now): ProgressLine | undefined {
  if (!stderr.isTTY) return undefined;
  let last = -Infinity;
  let shown = false;
  return {
    update(account, { stored, fetched, total }) {
      if (total < 200) return;
      const at = now();
      if (fetched < total && at - last < 200) return;
      last = at;
      shown = true;
      stderr.write(`\r\x1b[Kread ${account}: ${stored}/${total} stored (${fetched} fetched)`);
    },
    clear() {
      if (shown) stderr.write('\r\x1b[K');
      shown = false;
    },
  };
}
