// File names carry what a crash must not lose: `ID,S=SIZE[,src=ACCOUNT+SOURCE]`, where SOURCE is the
// message's id on its server (IMAP "UIDVALIDITY/UID", POP3 UIDL), URI-encoded. A message stored but
// not yet recorded is recognised by it at the next start (see recover.ts).
import type { SourceRef } from '../types.js';
import { baseName } from './maildir.js';

export interface StoredFile {
  id: string;
  /** The file name without the flags a mail client may add in cur/. */
  file: string;
  /** Where it is now (new/ or cur/). */
  path: string;
  size: number | null;
  source: SourceRef | null;
}

const SOURCE_LIMIT = 160;

function encodeSource(id: string): string {
  const plain = encodeURIComponent(id);
  return plain.length <= SOURCE_LIMIT ? plain : `~${Buffer.from(id).toString('base64url')}`;
}

function decodeSource(text: string): string {
  if (text.startsWith('~')) return Buffer.from(text.slice(1), 'base64url').toString();
  return text.includes('%') ? decodeURIComponent(text) : text;
}

export function fileName(id: string, size: number, source?: SourceRef): string {
  const src = source ? `,src=${source.account.toLowerCase()}+${encodeSource(source.id)}` : '';
  return `${id},S=${size}${src}`;
}

/** The source a file name carries (its `src=` field), or null. Cheap: a store may hold a million. */
export function sourceOf(name: string): SourceRef | null {
  const at = name.indexOf(',src=');
  if (at < 0) return null;
  const colon = name.indexOf(':', at);
  let field = colon < 0 ? name.slice(at + 5) : name.slice(at + 5, colon);
  const comma = field.indexOf(',');
  if (comma >= 0) field = field.slice(0, comma);
  const plus = field.indexOf('+');
  if (plus <= 0) return null;
  try {
    return { account: field.slice(0, plus), id: decodeSource(field.slice(plus + 1)) };
  } catch {
    return null;
  }
}

export function parseFileName(name: string): Omit<StoredFile, 'path'> | undefined {
  const base = baseName(name);
  const comma = base.indexOf(',');
  const id = comma < 0 ? base : base.slice(0, comma);
  if (!id) return undefined;
  const size = /,S=(\d+)/.exec(base)?.[1];
  return { id, file: base, size: size === undefined ? null : Number(size), source: sourceOf(base) };
}

