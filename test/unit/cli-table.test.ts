// Tables fitted to a terminal, the short ids of `emails`, the one time format of text output.
import { describe, expect, it } from 'vitest';
import { uniquePrefixes } from '../../src/cli/short-ids.js';
import { renderTable, type Column } from '../../src/cli/table.js';
import { localTime } from '../../src/cli/time.js';

const columns: Column[] = [{ header: 'ID' }, { header: 'NOTE', shrink: true }, { header: 'N', right: true, drop: 0 }, { header: 'TEXT', shrink: true }];
const rows = [
  ['a1', 'a note that is long', '7', 'the longest text of all the cells here'],
  ['b22', 'short', '1234', '-'],
];

describe('renderTable', () => {
  it('without a width every value is whole (pipes, files)', () => {
    const { text, dropped } = renderTable(columns, rows);
    expect(text.split('\n')[1]).toBe('a1   a note that is long     7  the longest text of all the cells here');
    expect(dropped).toEqual([]);
  });

  it('cuts the widest cuttable columns first, with …, down to their minimum', () => {
    const { text } = renderTable(columns, rows, 50);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(50);
    expect(text).toContain('…');
    expect(text.split('\n')[2]).toMatch(/^b22\s+short\s+1234\s+-$/);
  });

  it('leaves out droppable columns, lowest first, when cutting is not enough, and says which', () => {
    const { text, dropped } = renderTable(columns, rows, 28);
    expect(dropped).toEqual(['N']);
    expect(text.split('\n')[0]).toMatch(/^ID\s+NOTE\s+TEXT$/);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(28);
    // Narrower than the minimums: every cuttable column at its minimum, nothing more is lost.
    const narrow = renderTable(columns, rows, 10).text.split('\n');
    expect(narrow[1]).toBe('a1   a note th…  the longe…');
  });

  it('nothing at all without rows', () => {
    expect(renderTable(columns, [], 80).text).toBe('');
  });
});

describe('uniquePrefixes', () => {
  it('at least 8 characters; longer only where two ids share more', () => {
    const ids = ['mx4x464g01abcde', 'mx4x464g02abcde', 'mx4x4aaa01xyzzy', 'mq00000001zzzzz'];
    const p = uniquePrefixes(ids);
    expect(p.get('mx4x464g01abcde')).toBe('mx4x464g01');
    expect(p.get('mx4x464g02abcde')).toBe('mx4x464g02');
    expect(p.get('mx4x4aaa01xyzzy')).toBe('mx4x4aaa');
    expect(p.get('mq00000001zzzzz')).toBe('mq000000');
    for (const [id, prefix] of p) expect(ids.filter((other) => other.startsWith(prefix))).toEqual([id]);
  });
});

describe('localTime', () => {
  it('local time to the second; "-" for none', () => {
    const iso = '2025-06-01T10:00:00.000Z';
    const d = new Date(iso);
    const two = (n: number) => String(n).padStart(2, '0');
    expect(localTime(iso)).toBe(`${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`);
    expect(localTime(null)).toBe('-');
  });
});
