// Breaking a long line of detail into lines that fit a terminal, at the boundaries people read it
// by: "; " between facts first, then ", " within one, then spaces; a single value longer than the
// room (a full fingerprint, a long path) is broken last, after a ':' or '/' where it has one, or
// left whole on a line of its own where it is meant to be copied (a value in a hint).
// Hand-written: word-wrap libraries (wrap-ansi and kin) break at the last space that fits, so
// "issued by CN=x; expires ..." splits inside a fact while the "; " before it was free.
const BOUNDARIES = ['; ', ', ', ' '] as const;

/** Characters after which a value too long for any line is broken (kept at the end of the line). */
const VALUE_BREAKS = /[:/\\.\-_=]/;

export interface WrapOptions {
  /** false: a value longer than the room stays whole (the line is wider than the room). */
  breakValues?: boolean;
}

/** `text` as lines of at most `room` characters (plain text: no colour codes). */
export function wrapText(text: string, room: number, options: WrapOptions = {}): string[] {
  return wrapAt(text, Math.max(1, Math.floor(room)), 0, options.breakValues ?? true);
}

function wrapAt(text: string, room: number, level: number, breakValues: boolean): string[] {
  if (text.length <= room) return [text];
  const boundary = BOUNDARIES[level];
  if (boundary === undefined) return breakValues ? breakValue(text, room) : [text];
  const parts = text.split(boundary);
  if (parts.length === 1) return wrapAt(text, room, level + 1, breakValues);
  // The boundary's mark (";" or ",") stays at the end of the line it closes; the space goes.
  const mark = boundary.trimEnd();
  const lines: string[] = [];
  let current: string | undefined;
  parts.forEach((part, i) => {
    const piece = i < parts.length - 1 ? `${part}${mark}` : part;
    if (current !== undefined && current.length + 1 + piece.length <= room) {
      current = `${current} ${piece}`;
      return;
    }
    if (current !== undefined) lines.push(current);
    const broken = wrapAt(piece, room, level + 1, breakValues);
    lines.push(...broken.slice(0, -1));
    current = broken.at(-1);
  });
  if (current !== undefined) lines.push(current);
  return lines;
}

/** A value with no boundary left: cut after the last break character that keeps at least half a line, else at the room. */
function breakValue(text: string, room: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > room) {
    let cut = room;
    for (let i = room - 1; i >= Math.ceil(room / 2); i--) {
      if (VALUE_BREAKS.test(rest[i]!)) {
        cut = i + 1;
        break;
      }
    }
    lines.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  lines.push(rest);
  return lines;
}

/**
 * `prefix` then `text`, fitted to `width` (undefined: one line, unchanged). Continuation lines are
 * indented under the text; when that leaves less than `minRoom`, the text starts on the next line,
 * `narrowIndent` in. `prefixWidth`: the prefix's visible width (it may carry colour codes).
 */
export function fitBlock(prefix: string, prefixWidth: number, text: string, width: number | undefined, { minRoom = 30, narrowIndent = 4, ...options }: WrapOptions & { minRoom?: number; narrowIndent?: number } = {}): string[] {
  if (width === undefined || prefixWidth + text.length <= width) return [`${prefix}${text}`];
  const room = width - prefixWidth;
  if (room >= minRoom || room >= width - narrowIndent) {
    const [first, ...rest] = wrapText(text, room, options);
    return [`${prefix}${first}`, ...rest.map((l) => `${' '.repeat(prefixWidth)}${l}`)];
  }
  return [prefix.trimEnd(), ...wrapText(text, width - narrowIndent, options).map((l) => `${' '.repeat(narrowIndent)}${l}`)];
}
