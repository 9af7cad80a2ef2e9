// bench/results/latest.md (a table per benchmark, the targets beside the numbers) and latest.json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Options } from './options.js';
import { run } from './proc.js';
import type { Row, Section } from './results.js';

export interface Report {
  generatedAt: string;
  command: string;
  options: Options;
  machine: { cpus: number; cpu: string; memoryGB: number; kernel: string; node: string; user: string; loadAtStart: number; loadAtEnd: number };
  versions: Record<string, string>;
  sections: Section[];
  /** What failed in the run; the process exits 1 when there is any. */
  failures: string[];
}

const VERSION_COMMANDS: Record<string, string[]> = {
  dovecot: ['dovecot', '--version'],
  fetchmail: ['fetchmail', '--version'],
  getmail6: ['getmail', '--version'],
  mbsync: ['mbsync', '--version'],
  msmtp: ['msmtp', '--version'],
  hyperfine: ['hyperfine', '--version'],
};

export async function toolVersions(): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  for (const [name, [cmd, ...args]] of Object.entries(VERSION_COMMANDS)) {
    try {
      const r = await run(cmd!, args, { timeoutMs: 10_000 });
      const first = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trim()).find((l) => /\d+\.\d+/.test(l));
      versions[name] = first?.match(/\d+\.\d+(\.\d+)*/)?.[0] ?? 'unknown';
    } catch {
      versions[name] = 'not installed';
    }
  }
  return versions;
}

/** `loadAtStart`: the 1-minute load average when the run began (other work on a shared machine is noise). */
export function machine(loadAtStart: number): Report['machine'] {
  return {
    loadAtStart,
    loadAtEnd: os.loadavg()[0]!,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    user: process.getuid?.() === 0 ? 'root' : 'unprivileged',
  };
}

function num(x: number | undefined, unit?: string): string {
  if (x === undefined || Number.isNaN(x)) return '–';
  if (Number.isInteger(x)) return unit ? `${x.toLocaleString('en')} ${unit}` : x.toLocaleString('en');
  const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : Math.abs(x) >= 1 ? 2 : 3;
  const text = x.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return unit ? `${text} ${unit}` : text;
}

const MARK: Record<string, string> = { true: 'met', false: '**missed**', null: 'not judged' };

function rowCells(section: Section, row: Row): string[] {
  const status = row.status === 'ok' ? (row.note ?? '') : `${row.status}: ${row.note ?? ''}`;
  const cells = [
    row.tool,
    num(row.median),
    row.min === undefined ? '–' : `${num(row.min)}–${num(row.max)}`,
  ];
  if (section.perMessage) cells.push(row.messages ? row.messages.toLocaleString('en') : '–', num(row.rate));
  for (const key of section.extraColumns ?? []) {
    const v = row.extra?.[key];
    cells.push(typeof v === 'number' ? num(v) : (v ?? '–'));
  }
  if (section.ratio) cells.push(row.ratio === undefined ? '–' : `${num(row.ratio)}x`);
  cells.push(status.replace(/\|/g, '\\|').replace(/\n/g, ' '));
  return cells;
}

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function sectionMarkdown(section: Section, index: number): string {
  const u = section.metric.unit;
  const head = ['tool', `median (${u})`, `min–max (${u})`];
  if (section.perMessage) head.push('messages', 'msg/s');
  head.push(...(section.extraColumns ?? []));
  if (section.ratio) head.push(`ratio to ${section.ratio.base}`);
  head.push('note');
  const parts = [
    `## ${index}. ${section.title}`,
    section.setup,
    table(head, section.rows.map((r) => rowCells(section, r))),
  ];
  if (section.ratio) parts.push(`Ratio: ${section.ratio.meaning}.`);
  if (section.targets.length) {
    parts.push(
      [
        'Targets:',
        ...section.targets.map(
          (t) => `- ${t.text}: ${MARK[String(t.met)]}, measured ${t.measured}${t.gap ? `; missed by ${t.gap}` : ''}${t.limit ? `. What limits it: ${t.limit}` : ''}`,
        ),
      ].join('\n'),
    );
  }
  if (section.notes.length) parts.push(section.notes.map((n) => `- ${n}`).join('\n'));
  return parts.join('\n\n');
}

export function markdown(report: Report): string {
  const m = report.machine;
  const targets = report.sections.flatMap((s) => s.targets);
  const parts = [
    '# mailbox benchmarks',
    `Generated ${report.generatedAt} by \`${report.command}\`${report.options.smoke ? ' (smoke mode: tiny sizes, numbers mean nothing)' : ''}.`,
    `Machine: ${m.cpus} x ${m.cpu}, ${m.memoryGB} GB RAM, ${m.kernel}, Node ${m.node}, run as ${m.user}. ` +
      `Versions: ${Object.entries(report.versions).map(([k, v]) => `${k} ${v}`).join(', ')}. ` +
      `Load average (1 min) ${m.loadAtStart.toFixed(2)} at the start, ${m.loadAtEnd.toFixed(2)} at the end.`,
    'Times are wall time from the start of the tool to its exit (connection, TLS, login and storing included), median of the runs; ' +
      'absolute numbers on a shared machine are noisy, ratios measured in one run are not.',
  ];
  if (targets.length) {
    const cell = (s: string) => s.replace(/\|/g, '\\|');
    parts.push(
      '## Targets',
      table(
        ['target', 'measured', 'result', 'what limits it'],
        targets.map((t) => [t.text, t.measured, t.met === false ? `**missed** by ${t.gap}` : MARK[String(t.met)]!, cell(t.limit ?? '')].map(cell)),
      ),
    );
  }
  report.sections.forEach((s, i) => parts.push(sectionMarkdown(s, i + 1)));
  if (report.failures.length) parts.push('## Failures', report.failures.map((f) => `- ${f}`).join('\n'));
  return `${parts.join('\n\n')}\n`;
}

export function writeReport(dir: string, report: Report): { md: string; json: string } {
  fs.mkdirSync(dir, { recursive: true });
  const md = path.join(dir, 'latest.md');
  const json = path.join(dir, 'latest.json');
  fs.writeFileSync(md, markdown(report));
  fs.writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  return { md, json };
}
