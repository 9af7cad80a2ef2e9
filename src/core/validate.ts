// Pure value checks shared by accounts, filters and the CLI. No I/O here.
import { invalid } from './errors.js';

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
  const text = String(value).trim();
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
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

/** "10MB", "512k", "1048576" -> bytes. */
export function parseSize(value: unknown, field: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(String(value));
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw invalid(field, value, 'a size in bytes, or with a unit: 512k, 10MB, 1GB');
  const bytes = Math.round(Number(match[1]) * unit);
  if (bytes < 1) throw invalid(field, value, 'a size of at least 1 byte');
  return bytes;
}

/** Durations such as "90s", "2m", "1h", "500ms" -> milliseconds. */
export function parseDuration(value: unknown, field: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(String(value));
  if (!match) throw invalid(field, value, 'a duration such as 30s, 2m or 1h');
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's').toLowerCase() as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(Number(match[1]) * factor);
  if (ms <= 0) throw invalid(field, value, 'a duration greater than zero');
  return ms;
}

/** A SHA-256 certificate fingerprint, hex with or without colons -> "AB:CD:..." (as node's fingerprint256). */
export function parseFingerprint(value: unknown, field = 'fingerprint'): string {
  const hex = String(value).trim().replace(/^sha256[:=]/i, '').replace(/[:\s]/g, '');
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw invalid(field, value, 'a SHA-256 fingerprint: 64 hex digits, colons optional');
  return hex.toUpperCase().match(/../g)!.join(':');
}

export function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  const text = String(value).trim().toLowerCase();
  if (!(allowed as readonly string[]).includes(text)) throw invalid(field, value, `one of ${allowed.join(', ')}`);
  return text as T;
}

/** Filter names: 1-64 letters, digits, ".", "_", "-" (compared case-insensitively). */
export function parseFilterName(value: unknown, field = 'filter name'): string {
  const name = String(value ?? '').trim();
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(name)) throw invalid(field, value, '1-64 letters, digits, ".", "_", "-", starting with a letter or digit');
  return name;
}
