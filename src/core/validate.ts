// Pure value checks shared by accounts, filters and the CLI. No I/O here. Every check bounds what it
// accepts, so what is written is always what the reader accepts again: numbers within a range (never
// one that JSON writes in exponent form), text of a bounded length without control characters.
import { invalid } from './errors.js';
import { hasControl } from './text.js';

export interface TextRule {
  /** The most characters accepted. */
  max: number;
  /** What the field takes, in words: "a folder name". */
  what: string;
}

/**
 * A name-like text value (a name, folder, user, host, command, path...): a string (or a number, as
 * JSON may give one), trimmed, 1 to `max` characters, no control characters (a line break or an
 * escape sequence in a value breaks or forges lines of output and of protocol commands).
 */
export function parseText(value: unknown, field: string, rule: TextRule): string {
  const accepted = `${rule.what}: 1-${rule.max} characters, no control characters (line breaks, tabs, escapes)`;
  if (typeof value !== 'string' && typeof value !== 'number') throw invalid(field, value, accepted);
  const text = String(value).trim();
  if (!text || [...text].length > rule.max || hasControl(text)) throw invalid(field, value, accepted);
  return text;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIPv4(value: string): boolean {
  return IPV4.test(value);
}

function isIPv6(value: string): boolean {
  if (!value.includes(':') || !/^[0-9a-f:.]+$/i.test(value)) return false;
  try {
    new URL(`http://[${value}]/`);
    return true;
  } catch {
    return false;
  }
}

/** A DNS name (RFC 1123 labels, optional trailing dot) or an IPv4/IPv6 literal. */
export function isHost(value: string): boolean {
  if (isIPv4(value) || isIPv6(value)) return true;
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  if (name.length === 0 || name.length > 253) return false;
  // All-numeric dotted names are malformed IPv4, not host names.
  if (/^[\d.]+$/.test(name)) return false;
  return name.split('.').every((label) => LABEL.test(label));
}

const ATEXT = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/i;
const QUOTED = /^"([\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"$/;

/** An RFC 5321 mailbox: dot-atom or quoted local part, @, a domain or an address literal. UTF-8 allowed (SMTPUTF8). */
export function isAddress(value: string): boolean {
  if (hasControl(value)) return false;
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1 || value.length > 254) return false;
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  const localAscii = local.replace(/[^\x00-\x7f]/g, 'a');
  if (local.length > 64 || !(ATEXT.test(localAscii) || QUOTED.test(local))) return false;
  if (domain.startsWith('[') && domain.endsWith(']')) {
    const literal = domain.slice(1, -1);
    return isIPv4(literal) || (literal.startsWith('IPv6:') && isIPv6(literal.slice(5)));
  }
  const domainAscii = domain.replace(/[^\x00-\x7f]+/g, 'x');
  // A bare IP is not a domain; RFC 5321 wants it as an address literal in brackets.
  return isHost(domainAscii) && !isIPv4(domainAscii) && !isIPv6(domainAscii);
}

export function parsePort(value: unknown, field = 'port'): number {
  const text = typeof value === 'string' || typeof value === 'number' ? String(value).trim() : '';
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(field, value, 'a whole number from 1 to 65535');
  return port;
}

export function parseBoolean(value: unknown, field: string): boolean {
  if (typeof value === 'boolean') return value;
  const text = String(value).trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(text)) return true;
  if (['false', 'no', 'off', '0'].includes(text)) return false;
  throw invalid(field, value, 'true or false');
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/**
 * The largest message size limit: 4 GiB. IMAP cannot announce a larger message (its sizes are 32-bit
 * numbers, RFC 3501), so a higher limit would mean nothing; a bound also keeps the number one that
 * JSON writes as digits (10^21 and up it writes as 1e+21, which no reader takes as a size).
 */
export const MAX_SIZE = 4 * 1024 ** 3;

/** "10MB", "512k", "1048576" -> bytes, from 1 byte to 4 GiB. */
export function parseSize(value: unknown, field: string): number {
  const accepted = 'a size from 1 byte to 4GB: bytes, or with a unit: 512k, 10MB, 1GB';
  const match = typeof value === 'string' || typeof value === 'number' ? /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(String(value)) : null;
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw invalid(field, value, accepted);
  const bytes = Math.round(Number(match[1]) * unit);
  if (!(bytes >= 1 && bytes <= MAX_SIZE)) throw invalid(field, value, accepted);
  return bytes;
}

export interface DurationRange {
  minMs: number;
  maxMs: number;
}

/**
 * Node's timers take at most 2^31-1 ms (24.8 days): a longer delay fires at once, so every duration
 * is bounded well inside that. Intervals and timeouts alike: from one second to a day.
 */
export const DURATION_RANGE: DurationRange = { minMs: 1000, maxMs: 24 * 3_600_000 };
/** A connection test's time limit: from one second to ten minutes. */
export const TIMEOUT_RANGE: DurationRange = { minMs: 1000, maxMs: 10 * 60_000 };

const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** 90000 -> "90s", 7200000 -> "2h": the shortest exact form, for messages. */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    if (ms >= DURATION_UNITS[unit] && ms % DURATION_UNITS[unit] === 0) return `${ms / DURATION_UNITS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

/** Durations such as "90s", "2m", "1h", "500ms" (a bare number is seconds) -> milliseconds, within `range`. */
export function parseDuration(value: unknown, field: string, range: DurationRange = DURATION_RANGE): number {
  const accepted = `a duration from ${formatDuration(range.minMs)} to ${formatDuration(range.maxMs)}, such as 30s, 2m or 1h (a bare number is seconds)`;
  const match = typeof value === 'string' || typeof value === 'number' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(String(value)) : null;
  if (!match) throw invalid(field, value, accepted);
  const ms = Math.round(Number(match[1]) * DURATION_UNITS[(match[2] ?? 's').toLowerCase() as keyof typeof DURATION_UNITS]);
  if (!(ms >= range.minMs && ms <= range.maxMs)) throw invalid(field, value, accepted);
  return ms;
}

/** A count (a --limit): a whole number from `min` to `max`. */
export function parseCount(value: unknown, field: string, min = 1, max = 1_000_000_000): number {
  const text = typeof value === 'string' || typeof value === 'number' ? String(value).trim() : '';
  const count = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(count >= min && count <= max)) throw invalid(field, value, `a whole number from ${min} to ${max}`);
  return count;
}

/** A SHA-256 certificate fingerprint, hex with or without colons -> "AB:CD:..." (as node's fingerprint256). */
export function parseFingerprint(value: unknown, field = 'fingerprint'): string {
  const hex = String(value).trim().replace(/^sha256[:=]/i, '').replace(/[:\s]/g, '');
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw invalid(field, value, 'a SHA-256 fingerprint: 64 hex digits, colons optional');
  return hex.toUpperCase().match(/../g)!.join(':');
}

/** One of `allowed` (case-insensitive); `aliases` maps other accepted words to one of them. */
export function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], aliases: Readonly<Record<string, T>> = {}): T {
  const text = typeof value === 'string' ? value.trim().toLowerCase() : '';
  const found = (allowed as readonly string[]).includes(text) ? (text as T) : Object.hasOwn(aliases, text) ? aliases[text] : undefined;
  if (found === undefined) {
    const also = Object.keys(aliases).map((alias) => `${alias} for ${aliases[alias]}`);
    throw invalid(field, value, `one of ${allowed.join(', ')}${also.length ? ` (or ${also.join(', ')})` : ''}`);
  }
  return found;
}

/** Filter names: 1-64 letters, digits, ".", "_", "-" (compared case-insensitively). */
export function parseFilterName(value: unknown, field = 'filter name'): string {
  const name = typeof value === 'string' ? value.trim() : '';
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(name)) throw invalid(field, value, '1-64 letters, digits, ".", "_", "-", starting with a letter or digit');
  return name;
}

/** A mailbox as RFC 5322 writes it in a From: an address, with a display name or without. */
export interface Mailbox {
  name?: string;
  address: string;
}

const ATOM_TEXT = /^[\p{L}\p{N}\p{M}!#$%&'*+/=?^_`{|}~.-]+$/u;

/** The display name of a name-addr: words (atoms, or quoted strings), joined by one space. */
function displayName(phrase: string): string | undefined {
  const words: string[] = [];
  let i = 0;
  while (i < phrase.length) {
    if (/\s/.test(phrase[i]!)) {
      i++;
    } else if (phrase[i] === '"') {
      let word = '';
      for (i++; i < phrase.length && phrase[i] !== '"'; i++) word += phrase[i] === '\\' ? (phrase[++i] ?? '') : phrase[i];
      if (phrase[i] !== '"') return undefined;
      words.push(word);
      i++;
    } else {
      const end = phrase.slice(i).search(/[\s"]/);
      const word = end < 0 ? phrase.slice(i) : phrase.slice(i, i + end);
      // "." is allowed unquoted, as RFC 5322's obsolete phrase does ("John Q. Public").
      if (!ATOM_TEXT.test(word)) return undefined;
      words.push(word);
      i += word.length;
    }
  }
  const name = words.join(' ').trim();
  return name || undefined;
}

/**
 * "alice@example.com", "Alice <alice@example.com>", "\"Smith, Alice\" <alice@example.com>" or a UTF-8
 * name (RFC 6532) -> the name and the address; undefined when it is none of these. Hand-written: the
 * address parser of nodemailer accepts almost any text, and core loads no mail library.
 */
export function parseMailbox(text: string): Mailbox | undefined {
  const value = text.trim();
  if (hasControl(value)) return undefined;
  let phrase = '';
  let i = 0;
  for (; i < value.length && value[i] !== '<'; i++) {
    if (value[i] === '"') {
      const start = i;
      for (i++; i < value.length && value[i] !== '"'; i++) if (value[i] === '\\') i++;
      phrase += value.slice(start, i + 1);
    } else {
      phrase += value[i];
    }
  }
  if (i === value.length) return isAddress(value) ? { address: value } : undefined;
  if (!value.endsWith('>')) return undefined;
  const address = value.slice(i + 1, -1).trim();
  if (!isAddress(address)) return undefined;
  if (!phrase.trim()) return { address };
  const name = displayName(phrase);
  return name === undefined ? undefined : { name, address };
}

/** The mailbox as a From header writes it: the name quoted only when it must be. */
export function formatMailbox(mailbox: Mailbox): string {
  if (mailbox.name === undefined) return mailbox.address;
  const plain = mailbox.name.split(' ').every((word) => ATOM_TEXT.test(word));
  const name = plain ? mailbox.name : `"${mailbox.name.replace(/["\\]/g, '\\$&')}"`;
  return `${name} <${mailbox.address}>`;
}
