// Address filters: allow and deny lists of addresses and domains, per direction.
import { invalid } from './errors.js';
import { isAddress, oneOf, parseBoolean, parseFilterName } from './validate.js';

export const DIRECTIONS = ['inbound', 'outbound'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export interface AddressFilter {
  name: string;
  /** inbound: who may send to us (POP3/IMAP); outbound: who may receive from us (SMTP). */
  direction: Direction;
  allow: string[];
  deny: string[];
  /** The filter used by accounts of this direction that name none. */
  default: boolean;
}

export interface FilterDecision {
  blocked: boolean;
  /** The pattern that decided, or null when nothing matched (allowed by default). */
  decidedBy: { list: 'allow' | 'deny'; pattern: string } | null;
}

const PATTERN = /^[^\s@]*@?[^\s@]+$/;

/** Patterns are addresses (a@b.c), domains (b.c) or either with * wildcards (*@b.c, *.b.c). */
export function parsePattern(value: unknown, field: string): string {
  const text = String(value ?? '').trim().toLowerCase();
  const probe = text.replace(/\*/g, 'x');
  const ok = PATTERN.test(text) && (probe.includes('@') ? isAddress(probe) : isAddress(`x@${probe}`));
  if (!ok) throw invalid(field, value, 'an address or a domain, * as a wildcard: bob@example.com, example.com, *.example.com, *@example.com');
  return text;
}

function globToRegExp(glob: string): RegExp {
  const body = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${body}$`, 'i');
}

export function patternMatches(pattern: string, address: string): boolean {
  const addr = address.trim().toLowerCase();
  if (pattern.includes('@')) return globToRegExp(pattern).test(addr);
  const domain = addr.slice(addr.lastIndexOf('@') + 1);
  return globToRegExp(pattern).test(domain);
}

/** Blocked only when some deny pattern matches and no allow pattern does. */
export function evaluateFilter(filter: Pick<AddressFilter, 'allow' | 'deny'>, address: string): FilterDecision {
  const allow = filter.allow.find((p) => patternMatches(p, address));
  if (allow) return { blocked: false, decidedBy: { list: 'allow', pattern: allow } };
  const deny = filter.deny.find((p) => patternMatches(p, address));
  if (deny) return { blocked: true, decidedBy: { list: 'deny', pattern: deny } };
  return { blocked: false, decidedBy: null };
}

export function parseFilter(input: Record<string, unknown>): AddressFilter {
  const name = parseFilterName(input.name);
  const list = (value: unknown, field: string): string[] => {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw invalid(field, value, 'a list of patterns');
    return [...new Set(value.map((v) => parsePattern(v, field)))];
  };
  return {
    name,
    direction: oneOf(input.direction, 'direction', DIRECTIONS),
    allow: list(input.allow, 'allow'),
    deny: list(input.deny, 'deny'),
    default: input.default === undefined ? false : parseBoolean(input.default, 'default'),
  };
}
