// Email ids as people type them: the shortest prefix that is unique in the log, and at least 8
// characters. Ids start with their creation time in base-36 milliseconds (8 characters today), so
// an 8-character prefix stays unique as new mail arrives: only an email of the same millisecond
// shares it, and then the prefix is longer.
const MIN = 8;

export function uniquePrefixes(ids: Iterable<string>): Map<string, string> {
  const sorted = [...new Set(ids)].sort();
  const common = (a: string | undefined, b: string) => {
    if (a === undefined) return 0;
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    return i;
  };
  const prefixes = new Map<string, string>();
  sorted.forEach((id, i) => {
    const shared = Math.max(common(sorted[i - 1], id), common(sorted[i + 1], id));
    prefixes.set(id, id.slice(0, Math.max(MIN, shared + 1)));
  });
  return prefixes;
}
