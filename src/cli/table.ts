// Text tables that fit the terminal. On a terminal (a width is given) long cells are cut with "…"
// and, when even that is not enough, the least needed columns are left out; never in --json, never
// when stdout is not a terminal (no width): pipes and files get every value whole.
export interface Column {
  header: string;
  /** May be cut to fit, down to `min` characters (default 10, never below the header). */
  shrink?: boolean;
  min?: number;
  /** May be left out to fit: the lowest goes first. Absent: always shown. */
  drop?: number;
  /** Numbers line up on the right. */
  right?: boolean;
}

export interface RenderedTable {
  text: string;
  /** Headers of the columns left out to fit the width. */
  dropped: string[];
}

const GAP = 2;

function cut(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
}

/**
 * Column widths for `width`: cuttable columns give up characters, the widest first, down to their
 * minimum. `fits` false: even the minimums are too wide (the widths are the minimums then).
 */
function fit(columns: readonly Column[], natural: number[], width: number | undefined): { widths: number[]; fits: boolean } {
  const widths = [...natural];
  const total = () => widths.reduce((a, b) => a + b, 0) + GAP * (widths.length - 1);
  if (width === undefined) return { widths, fits: true };
  const floor = columns.map((c, i) => (c.shrink ? Math.min(natural[i]!, Math.max(c.header.length, c.min ?? 10)) : natural[i]!));
  while (total() > width) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) if (widths[i]! > floor[i]! && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
    if (widest < 0) return { widths, fits: false };
    widths[widest]!--;
  }
  return { widths, fits: true };
}

export function renderTable(columns: readonly Column[], rows: readonly string[][], width?: number): RenderedTable {
  if (rows.length === 0) return { text: '', dropped: [] };
  let shown = columns.map((_, i) => i);
  for (;;) {
    const natural = shown.map((i) => Math.max(columns[i]!.header.length, ...rows.map((r) => (r[i] ?? '').length)));
    const { widths: w, fits } = fit(shown.map((i) => columns[i]!), natural, width);
    const droppable = shown.filter((i) => columns[i]!.drop !== undefined).sort((a, b) => columns[a]!.drop! - columns[b]!.drop!);
    if (!fits && droppable.length > 0) {
      shown = shown.filter((i) => i !== droppable[0]);
      continue;
    }
    const line = (cells: string[]) =>
      shown
        .map((col, k) => {
          const text = width === undefined ? (cells[col] ?? '') : cut(cells[col] ?? '', w[k]!);
          if (columns[col]!.right) return text.padStart(w[k]!);
          return k === shown.length - 1 ? text : text.padEnd(w[k]!);
        })
        .join(' '.repeat(GAP))
        .trimEnd();
    const text = [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n');
    return { text, dropped: columns.filter((_, i) => !shown.includes(i)).map((c) => c.header) };
  }
}
