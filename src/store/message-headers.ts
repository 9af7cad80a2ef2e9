// The few header fields the email log shows (From, To, Cc, Subject, Date, Message-ID), read from the
// header block of a raw message. Hand-written rather than mailparser: mailparser parses the whole
// MIME tree through streams (about 0.1 ms and several allocations per message, and 0.2 s to load),
// while the reader only needs five unfolded, RFC 2047-decoded fields from bytes it already holds.
import addressparser, { type Address } from 'nodemailer/lib/addressparser';

export interface HeaderSummary {
  from: string | null;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string | null;
  /** ISO 8601, or null when missing or unreadable. */
  date: string | null;
  messageId: string | null;
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

const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

function decodeWord(charset: string, encoding: string, text: string): string {
  const label = charset.split('*')[0]!; // RFC 2231 language suffix
  let bytes: Buffer;
  if (encoding.toLowerCase() === 'b') bytes = Buffer.from(text, 'base64');
  else {
    const raw = text.replace(/_/g, ' ').replace(/=([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    bytes = Buffer.from(raw, 'latin1');
  }
  return new TextDecoder(label).decode(bytes);
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

function flatten(list: Address[]): string[] {
  const out: string[] = [];
  for (const entry of list) {
    if (entry.group) out.push(...flatten(entry.group));
    else if (entry.address) out.push(entry.address);
  }
  return out;
}

/** The addr-specs of an address header ("A <a@x>, b@y, group: c@z;" -> a@x, b@y, c@z). */
export function addresses(value: string | undefined): string[] {
  if (!value) return [];
  return flatten(addressparser(value));
}

function isoDate(value: string | undefined): string | null {
  if (!value) return null;
  const time = Date.parse(value.replace(/\s*\([^)]*\)\s*$/, ''));
  return Number.isNaN(time) ? null : new Date(time).toISOString();
}

/** The fields the email log keeps, from the start of a raw message. */
export function summarize(block: Buffer): HeaderSummary {
  const first = new Map<string, string>();
  const all = new Map<string, string[]>();
  for (const [raw, value] of parseHeaderFields(block)) {
    const name = raw.toLowerCase();
    if (!first.has(name)) first.set(name, value);
    all.set(name, [...(all.get(name) ?? []), value]);
  }
  const list = (name: string) => (all.get(name) ?? []).flatMap((v) => addresses(v));
  const subject = first.get('subject');
  const messageId = first.get('message-id');
  return {
    from: list('from')[0] ?? null,
    to: list('to'),
    cc: list('cc'),
    bcc: list('bcc'),
    subject: subject === undefined ? null : decodeWords(subject),
    date: isoDate(first.get('date')),
    messageId: messageId ? messageId.replace(/^<|>$/g, '') || null : null,
  };
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
