// The few header fields the email log shows (From, To, Cc, Subject, Date, Message-ID), read from the
// header block of a raw message. Hand-written rather than mailparser: mailparser parses the whole
// MIME tree through streams (about 0.1 ms and several allocations per message, and 0.2 s to load),
// while the reader only needs five unfolded, RFC 2047-decoded fields from bytes it already holds.

export interface HeaderSummary {
  from: string | null;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string | null;
  /** ISO 8601, or null when missing or unreadable. */
  date: string | null;
  messageId: string | null;
  /** The fields the inbound guards look at (core/guards.ts), raw; absent when the message has none. */
  autoSubmitted?: string;
  contentType?: string;
  spamFlag?: string;
}

/** Header blocks larger than this are cut (the rest of the message is still stored byte for byte). */
export const MAX_HEADER_BYTES = 256 * 1024;

/** Offset just past the blank line ending the header block, or -1 when `buf` holds no blank line. */
export function headerEnd(buf: Buffer): number {
  if (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) return 2;
  if (buf.length >= 1 && buf[0] === 0x0a) return 1;
  let at = 0;
  for (;;) {
    const lf = buf.indexOf(0x0a, at);
    if (lf < 0 || lf + 1 >= buf.length) return -1;
    const next = buf[lf + 1];
    if (next === 0x0a) return lf + 2;
    if (next === 0x0d && buf[lf + 2] === 0x0a) return lf + 3;
    at = lf + 1;
  }
}

/** Collects the start of a streamed message until its header block is complete (or the cap is hit). */
export class HeaderCapture {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private done = false;

  push(chunk: Buffer): void {
    if (this.done) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes >= MAX_HEADER_BYTES || headerEnd(this.joined()) >= 0) this.done = true;
  }

  private joined(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  buffer(): Buffer {
    const all = this.joined();
    const end = headerEnd(all);
    return all.subarray(0, end >= 0 ? end : Math.min(all.length, MAX_HEADER_BYTES));
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

/** Header bytes as text: UTF-8 (RFC 6532) when valid, else Latin-1 so no byte is lost. */
function headerText(buf: Buffer): string {
  try {
    return utf8.decode(buf);
  } catch {
    return latin1.decode(buf);
  }
}

/** Unfolded header fields in order, names as written. */
export function parseHeaderFields(block: Buffer): Array<[string, string]> {
  const end = headerEnd(block);
  const text = headerText(end >= 0 ? block.subarray(0, end) : block);
  const fields: Array<[string, string]> = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if ((line[0] === ' ' || line[0] === '\t') && fields.length > 0) {
      fields[fields.length - 1]![1] += line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return fields;
}

const decoders = new Map<string, TextDecoder>();

const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

function decodeWord(charset: string, encoding: string, text: string): string {
  const label = charset.split('*')[0]!; // RFC 2231 language suffix
  let bytes: Buffer;
  if (encoding.toLowerCase() === 'b') bytes = Buffer.from(text, 'base64');
  else {
    const raw = text.replace(/_/g, ' ').replace(/=([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    bytes = Buffer.from(raw, 'latin1');
  }
  let decoder = decoders.get(label.toLowerCase());
  if (!decoder) decoders.set(label.toLowerCase(), (decoder = new TextDecoder(label)));
  return decoder.decode(bytes);
}

/** Decodes RFC 2047 encoded words; whitespace between adjacent encoded words is dropped. */
export function decodeWords(value: string): string {
  const joined = value.replace(/(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)/g, '$1');
  return joined.replace(ENCODED_WORD, (whole, charset: string, encoding: string, text: string) => {
    try {
      return decodeWord(charset, encoding, text);
    } catch {
      return whole; // unknown charset: keep it readable as it was
    }
  });
}

/**
 * The addr-specs of an address header: "A <a@x>, \"B, C\" <b@y>, c@z, team: d@w;" -> a@x, b@y, c@z, d@w.
 * Hand-written: nodemailer's addressparser is complete but costs ~70 µs per header, a third of the
 * reader's own time per message; the log needs only the addresses, not display names or comments.
 */
export function addresses(value: string | undefined): string[] {
  if (!value) return [];
  const out: string[] = [];
  let item = '';
  let angle = '';
  let inQuote = false;
  let inAngle = false;
  let comment = 0;
  const flush = () => {
    const address = (angle || item).trim();
    if (address.includes('@')) out.push(address);
    item = '';
    angle = '';
  };
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (inQuote) {
      // Kept for a quoted local part ("john doe"@x); a quoted display name is replaced by <addr>.
      if (c === '\\') item += c + (value[++i] ?? '');
      else {
        item += c;
        if (c === '"') inQuote = false;
      }
      continue;
    }
    if (comment > 0) {
      if (c === '(') comment++;
      else if (c === ')') comment--;
      continue;
    }
    if (inAngle) {
      if (c === '>') inAngle = false;
      else angle += c;
      continue;
    }
    if (c === '"') {
      inQuote = true;
      item += c;
    } else if (c === '(') comment = 1;
    else if (c === '<') {
      inAngle = true;
      angle = '';
    } else if (c === ',' || c === ';') flush();
    else if (c === ':') item = ''; // a group name
    else if (c !== ' ' && c !== '\t') item += c;
  }
  flush();
  return out;
}

function isoDate(value: string | undefined): string | null {
  if (!value) return null;
  const time = Date.parse(value.replace(/\s*\([^)]*\)\s*$/, ''));
  return Number.isNaN(time) ? null : new Date(time).toISOString();
}

const WANTED = new Set(['from', 'to', 'cc', 'bcc', 'subject', 'date', 'message-id', 'auto-submitted', 'content-type', 'x-spam-flag']);

/** A header value read as Latin-1, as UTF-8 when its bytes are valid UTF-8 (RFC 6532). */
function utf8Value(latin: string): string {
  if (!/[\x80-\xff]/.test(latin)) return latin;
  try {
    return utf8.decode(Buffer.from(latin, 'latin1'));
  } catch {
    return latin;
  }
}

/** The fields the email log keeps, from the start of a raw message (one pass, wanted fields only). */
export function summarize(block: Buffer): HeaderSummary {
  const end = headerEnd(block);
  const text = block.toString('latin1', 0, end >= 0 ? end : Math.min(block.length, MAX_HEADER_BYTES));
  const fields = new Map<string, string[]>();
  let name: string | undefined;
  let value = '';
  const keep = () => {
    if (name !== undefined) {
      const list = fields.get(name);
      if (list) list.push(value);
      else fields.set(name, [value]);
    }
  };
  let at = 0;
  while (at < text.length) {
    let lf = text.indexOf('\n', at);
    if (lf < 0) lf = text.length;
    const line = text.charCodeAt(lf - 1) === 13 ? text.slice(at, lf - 1) : text.slice(at, lf);
    at = lf + 1;
    if (line === '') break;
    const first = line.charCodeAt(0);
    if (first === 32 || first === 9) {
      if (name !== undefined) value += line;
      continue;
    }
    keep();
    const colon = line.indexOf(':');
    const key = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : '';
    name = WANTED.has(key) ? key : undefined;
    value = name === undefined ? '' : line.slice(colon + 1).trim();
  }
  keep();
  const first = (key: string) => {
    const v = fields.get(key)?.[0];
    return v === undefined ? undefined : utf8Value(v);
  };
  const list = (key: string) => (fields.get(key) ?? []).flatMap((v) => addresses(utf8Value(v)));
  const subject = first('subject');
  const messageId = first('message-id');
  return {
    from: list('from')[0] ?? null,
    to: list('to'),
    cc: list('cc'),
    bcc: list('bcc'),
    subject: subject === undefined ? null : decodeWords(subject.trim()),
    date: isoDate(first('date')),
    messageId: messageId ? messageId.trim().replace(/^<|>$/g, '') || null : null,
    ...optional('autoSubmitted', fields.get('auto-submitted')?.[0]),
    ...optional('contentType', fields.get('content-type')?.[0]),
    ...optional('spamFlag', fields.get('x-spam-flag')?.[0]),
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

/**
 * The header block without the named fields (and their continuation lines), byte for byte
 * otherwise. Used to drop Bcc from a message queued with --file, as `sendmail -t` does.
 */
export function withoutFields(block: Buffer, names: string[]): Buffer {
  const drop = new Set(names.map((n) => n.toLowerCase()));
  const parts: Buffer[] = [];
  let at = 0;
  let dropping = false;
  while (at < block.length) {
    const lf = block.indexOf(0x0a, at);
    const end = lf < 0 ? block.length : lf + 1;
    const line = block.subarray(at, end);
    const continuation = line[0] === 0x20 || line[0] === 0x09;
    if (!continuation) {
      const colon = line.indexOf(0x3a);
      dropping = colon > 0 && drop.has(line.subarray(0, colon).toString('latin1').trim().toLowerCase());
    }
    if (!dropping) parts.push(line);
    at = end;
  }
  return Buffer.concat(parts);
}
