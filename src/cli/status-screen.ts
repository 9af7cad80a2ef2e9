// The live screen of `mailbox status --watch`: one compact page, redrawn in place. Each account with
// its state, last cycle, last error and mail of the last hour; the queue; what is paused or redirected.
import type { ChalkInstance } from 'chalk';
import { renderTable } from './table.js';
import { localTime } from './time.js';

export interface ScreenInput {
  runnerLine: string;
  queueLine: string;
  switches: string[];
  accounts: Array<{ name: string; type: string; active: boolean; job: string | null; at: string | null; ok: boolean | null; error: string | null; lastError: { at: string; message: string } | null }>;
  runner: { running: boolean };
  lastHour: ReadonlyMap<string, number>;
  now: Date;
  color: ChalkInstance;
  width: number;
  intervalMs: number;
}

export function dashboard(s: ScreenInput): string {
  const c = s.color;
  // Cells stay plain (the table measures characters); the one word that must stand out is coloured after.
  const state = (a: ScreenInput['accounts'][number]) => (!a.active ? 'off' : a.ok === null ? 'waiting' : a.ok ? 'ok' : 'FAILING');
  const rows = s.accounts.map((a) => [
    a.name,
    a.type,
    state(a),
    a.at ? `${a.job} ${localTime(a.at).slice(11)}` : 'never',
    String(s.lastHour.get(a.name.toLowerCase()) ?? 0),
    a.lastError ? `${localTime(a.lastError.at).slice(5, 16)} ${a.lastError.message}` : '-',
  ]);
  const table = renderTable(
    [{ header: 'ACCOUNT' }, { header: 'TYPE', drop: 2 }, { header: 'STATE' }, { header: 'LAST CYCLE' }, { header: 'LAST HOUR' }, { header: 'LAST ERROR', shrink: true, drop: 1 }],
    rows,
    s.width,
  ).text.replace(/\bFAILING\b/g, c.red('FAILING'));
  const head = `mailbox status  ${localTime(s.now.toISOString())}  (every ${Math.round(s.intervalMs / 1000)}s, Ctrl-C to quit)`;
  const runner = s.runner.running ? c.green(s.runnerLine) : c.red(s.runnerLine);
  return [c.bold(head), runner, s.queueLine, ...s.switches.map((line) => c.yellow(line)), '', rows.length ? table : 'no accounts (mailbox add)'].join('\n');
}
