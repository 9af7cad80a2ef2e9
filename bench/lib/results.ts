// What a benchmark produces: sections of rows (one per tool), each row the samples of its runs.
export type BenchId = 'imap' | 'pop3' | 'send' | 'idle' | 'memory' | 'startup' | 'push' | 'fleet';
export const BENCH_IDS: BenchId[] = ['imap', 'pop3', 'send', 'idle', 'memory', 'startup', 'push', 'fleet'];
/** What runs without --only: the fleet (a PostgreSQL of its own, minutes) only when asked for. */
export const DEFAULT_BENCH_IDS: BenchId[] = BENCH_IDS.filter((id) => id !== 'fleet');

/** ok: measured and verified; failed: ran but wrong (see note); skipped/unavailable: not run (see note). */
export type Status = 'ok' | 'failed' | 'skipped' | 'unavailable';

export interface Row {
  tool: string;
  status: Status;
  note?: string;
  /** The section's metric, one value per run. */
  samples: number[];
  /** Messages moved per run, for throughput sections. */
  messages?: number;
  median?: number;
  min?: number;
  max?: number;
  /** messages / median seconds. */
  rate?: number;
  /** This row against the section's base row (see Section.ratio). */
  ratio?: number;
  /** Further per-row numbers (round trips, wall time beside RSS, ...), shown as extra columns. */
  extra?: Record<string, number | string>;
}

export interface Target {
  /** Stable id (imap-mbsync, memory-imap, ...): what limits a missed target is looked up by it. */
  key: string;
  text: string;
  /** null when it could not be judged (a row missing). */
  met: boolean | null;
  measured: string;
  /** Where missed: by how much. */
  gap?: string;
  /** Where missed: what limits it (from the analysis in lib/limits.ts). */
  limit?: string;
}

export interface Section {
  id: BenchId;
  title: string;
  /** What was measured, how, on what data. */
  setup: string;
  metric: { name: string; unit: 's' | 'ms' | 'MB' };
  /** Compare rows per message (throughput) or by the metric itself. */
  perMessage: boolean;
  /** The row every other row is divided by, and how to read the quotient. */
  ratio?: { base: string; meaning: string };
  extraColumns?: string[];
  rows: Row[];
  targets: Target[];
  notes: string[];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Fills median, min, max, rate and ratio of every measured row. */
export function summarize(section: Section): Section {
  for (const row of section.rows) {
    if (row.status !== 'ok' || row.samples.length === 0) continue;
    row.median = median(row.samples);
    row.min = Math.min(...row.samples);
    row.max = Math.max(...row.samples);
    if (section.perMessage && row.messages) row.rate = row.messages / row.median;
  }
  const base = section.ratio && section.rows.find((r) => r.tool === section.ratio!.base && r.status === 'ok');
  if (base?.median) {
    for (const row of section.rows) {
      if (row.median === undefined) continue;
      row.ratio = section.perMessage && row.rate && base.rate ? base.rate / row.rate : row.median / base.median;
    }
  }
  return section;
}

export function findRow(section: Section, tool: string): Row | undefined {
  return section.rows.find((r) => r.tool === tool && r.status === 'ok' && r.median !== undefined);
}
