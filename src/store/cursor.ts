// An IMAP cursor as a store reads it back (a file, a database row): every field there, defaults for
// what an older or hand-edited copy lacks.
import type { ImapCursor } from './types.js';

export function imapCursorOf(raw: Partial<ImapCursor>): ImapCursor {
  return {
    folder: String(raw.folder ?? 'INBOX'),
    uidValidity: Number(raw.uidValidity ?? 0),
    lastUid: Number(raw.lastUid ?? 0),
    extra: Array.isArray(raw.extra) ? raw.extra.map(Number) : [],
    tooLarge: raw.tooLarge ?? {},
    dedupe: Boolean(raw.dedupe),
    pendingDelete: Boolean(raw.pendingDelete),
    ...(Array.isArray(raw.folders) ? { folders: raw.folders.map(String) } : {}),
  };
}
