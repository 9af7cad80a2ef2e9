// Every form a secret can take, and the one redaction everything leaving a protocol adapter passes
// through (open.ts wraps each adapter, probeAccount its result): a server may quote what it was sent
// (the password, an AUTH payload) in any reply, and a library may copy that reply into any field of
// its error. The debug log uses the same forms for its second pass.
import { plainPayload, xoauth2Payload } from './sasl.js';

export const REDACTED = '<redacted>';

const MIN_FRAGMENT = 4;

/** Base64 of `secret` as it appears inside any longer base64 text, at each of the three alignments. */
function base64Fragments(secret: Buffer): string[] {
  const out: string[] = [];
  for (let pad = 0; pad < 3; pad++) {
    const encoded = Buffer.concat([Buffer.alloc(pad), secret]).toString('base64').replace(/=+$/, '');
    const first = Math.ceil((pad * 8) / 6);
    const last = Math.floor(((pad + secret.length) * 8 - 6) / 6);
    const fragment = encoded.slice(first, last + 1);
    if (fragment.length >= MIN_FRAGMENT) out.push(fragment);
  }
  return out;
}

/** A text as it appears inside a quoted string: IMAP's and JSON's escapes. */
function escapedForms(text: string): string[] {
  return [text.replace(/["\\]/g, (c) => `\\${c}`), JSON.stringify(text).slice(1, -1)];
}

/**
 * Every textual form a secret can take on the wire or in a reply quoting it: as it is, its UTF-8
 * bytes read as latin1 (a server that re-encodes), quoted and escaped, base64 (alone, inside SASL
 * PLAIN/LOGIN/XOAUTH2/OAUTHBEARER payloads, at any alignment inside a longer base64 run). Longest
 * first, so replacements do not nest.
 */
export function secretForms(secret: string, user?: string): string[] {
  if (!secret) return [];
  const bytes = Buffer.from(secret, 'utf8');
  const latin1 = bytes.toString('latin1');
  const forms = new Set<string>([secret, latin1, bytes.toString('base64'), ...base64Fragments(bytes)]);
  for (const text of [secret, latin1]) {
    for (const escaped of escapedForms(text)) forms.add(escaped);
  }
  if (user !== undefined) {
    for (const payload of [plainPayload(user, secret), plainPayload(user, secret, user), xoauth2Payload(user, secret)]) forms.add(payload);
  }
  return [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
}

/** `text` with each of `forms` replaced. */
export function scrubForms(text: string, forms: readonly string[]): string {
  let out = text;
  for (const form of forms) if (out.includes(form)) out = out.split(form).join(REDACTED);
  return out;
}

export type Scrub = (text: string) => string;

/** Replaces every form of these secrets (the password or token, and any other credential of the account). */
export function secretScrubber(secrets: readonly (string | undefined)[], user?: string): Scrub {
  const forms = [...new Set(secrets.flatMap((s) => (s ? secretForms(s, user) : [])))].sort((a, b) => b.length - a.length);
  return forms.length === 0 ? (text) => text : (text) => scrubForms(text, forms);
}

/** `text` with every form of `secret` replaced. */
export function redactSecret(text: string, secret: string | undefined, user?: string): string {
  return secretScrubber([secret], user)(text);
}

const MAX_DEPTH = 6;

/** Values worth walking into: errors, plain objects and arrays; never sockets, streams or buffers. */
function walkable(value: object): boolean {
  if (Array.isArray(value) || value instanceof Error) return true;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Scrubs every string in `value`, in place: the properties of errors (message, stack, a library's
 * `response`, ...) and of their causes, plain objects and arrays. In place, so that an error keeps
 * its class and identity (callers compare errors by identity). Returns `value`.
 */
export function scrubDeep<T>(value: T, scrub: Scrub, depth = 0, seen = new Set<object>()): T {
  if (typeof value === 'string') return scrub(value) as T;
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH || seen.has(value) || !walkable(value)) return value;
  seen.add(value);
  for (const key of Object.getOwnPropertyNames(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    // Data properties; and an error's `stack`, which newer V8 versions make an accessor.
    const readable = descriptor && (('value' in descriptor && descriptor.writable) || (key === 'stack' && descriptor.set));
    if (!readable) continue;
    const inner: unknown = (value as Record<string, unknown>)[key];
    const clean = scrubDeep(inner, scrub, depth + 1, seen);
    if (clean !== inner) (value as Record<string, unknown>)[key] = clean;
  }
  // `cause` of an Error created with { cause } is an own property; a getter-defined one is read here.
  const cause = (value as { cause?: unknown }).cause;
  if (cause !== undefined && !Object.prototype.hasOwnProperty.call(value, 'cause')) scrubDeep(cause, scrub, depth + 1, seen);
  return value;
}

/** Runs `work`; what it throws leaves scrubbed. */
export async function scrubbing<T>(scrub: Scrub, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw scrubDeep(err, scrub);
  }
}
