// Runs contenders round-robin (run 1 of every tool, then run 2, ...) so that a noisy moment on a shared
// machine hits every tool alike; a contender that fails once is not run again.
import { median, type Row } from './results.js';

export interface Contender {
  tool: string;
  /** Why it cannot run here (not installed, not built yet); the row then says so. */
  unavailable?: string;
  /** Messages per run (throughput rows). */
  messages?: number;
  /** One run: prepare, time, verify, clean up. Returns the metric; throws when the result is wrong. */
  once(run: number): Promise<{ value: number; extra?: Record<string, number>; note?: string }>;
}

export type Log = (line: string) => void;

export async function measure(label: string, contenders: Contender[], runs: number, log: Log): Promise<Row[]> {
  const rows = contenders.map<Row>((c) => ({
    tool: c.tool,
    status: c.unavailable ? 'unavailable' : 'ok',
    note: c.unavailable,
    samples: [],
    messages: c.messages,
  }));
  const extras = contenders.map<Record<string, number[]>>(() => ({}));
  for (let r = 1; r <= runs; r++) {
    for (const [i, c] of contenders.entries()) {
      const row = rows[i]!;
      if (row.status !== 'ok') continue;
      try {
        const { value, extra, note } = await c.once(r);
        row.samples.push(value);
        if (note) row.note = row.note ? `${row.note}; ${note}` : note;
        for (const [key, v] of Object.entries(extra ?? {})) (extras[i]![key] ??= []).push(v);
        log(`${label}: ${c.tool} run ${r}/${runs}: ${value.toFixed(3)}${c.messages ? ` (${Math.round(c.messages / value)} msg/s)` : ''}`);
      } catch (err) {
        row.status = 'failed';
        row.note = (err as Error).message;
        log(`${label}: ${c.tool} run ${r}/${runs} FAILED: ${row.note}`);
      }
    }
  }
  // Extra numbers are reported as their median over the runs, like the main metric.
  rows.forEach((row, i) => {
    const keys = Object.keys(extras[i]!);
    if (keys.length) row.extra = Object.fromEntries(keys.map((k) => [k, median(extras[i]![k]!)]));
  });
  return rows;
}
