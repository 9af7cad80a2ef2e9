// Which messages of each incoming account are already stored: the IMAP cursor (UIDVALIDITY and the
// highest UID handled) and the POP3 UIDL set. Written only after the messages are durable in the
// Maildir, and read before deleting anything from a server.
import fs from 'node:fs/promises';
import path from 'node:path';
import { MailboxError } from '../core/errors.js';
import { DIR_MODE, FILE_MODE, ioError } from './maildir.js';

export interface ImapCursor {
  folder: string;
  uidValidity: number;
  /** Every UID up to this one is stored, or deliberately left on the server (tooLarge). */
  lastUid: number;
  /** UIDs above lastUid already stored (after a gap: a failed message, or found after a crash). */
  extra: number[];
  /** Messages over the account's maximum size, left on the server: UID -> size. */
  tooLarge: Record<string, number>;
  /** Re-reading after a UIDVALIDITY change: messages already stored (same Message-ID and size) are skipped. */
  dedupe: boolean;
  /** Delete mode: stored messages may still be on the server (a stop came between storing and deleting). */
  pendingDelete: boolean;
}

export interface Pop3Meta {
  /** Messages over the account's maximum size, left on the server: UIDL -> size. */
  tooLarge: Record<string, number>;
}

/** The seen state of incoming accounts; a database could implement the same. */
export interface SeenState {
  imapCursor(account: string): Promise<ImapCursor | undefined>;
  saveImapCursor(account: string, cursor: ImapCursor): Promise<void>;
  pop3Seen(account: string): Promise<Set<string>>;
  /** Records UIDLs as stored; durable when it resolves. */
  addPop3Seen(account: string, uidls: string[]): Promise<void>;
  /** Keeps only the UIDLs the server still lists (the rest can never come back). */
  prunePop3Seen(account: string, present: ReadonlySet<string>): Promise<void>;
  pop3Meta(account: string): Promise<Pop3Meta>;
  savePop3Meta(account: string, meta: Pop3Meta): Promise<void>;
}

async function writeAtomic(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: DIR_MODE }).catch(() => undefined);
  const { default: writeFileAtomic } = await import('write-file-atomic');
  try {
    await writeFileAtomic(file, text, { mode: FILE_MODE, fsync: true });
  } catch (err) {
    throw ioError('write', file, err);
  }
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError('read', file, err);
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  const text = await readText(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new MailboxError('EIO', `${file} is not valid JSON`, {
      hint: 'the seen state is damaged; move the file away and mail already stored will be recognised by its source id',
    });
  }
}

/** Seen state as files under state/seen/: ACCOUNT.imap.json, ACCOUNT.uidl (one UIDL a line), ACCOUNT.pop3.json. */
export class FileSeenState implements SeenState {
  constructor(readonly dir: string) {}

  private file(account: string, ext: string): string {
    return path.join(this.dir, `${account.toLowerCase()}.${ext}`);
  }

  async imapCursor(account: string): Promise<ImapCursor | undefined> {
    const raw = await readJson<Partial<ImapCursor>>(this.file(account, 'imap.json'));
    if (!raw) return undefined;
    return {
      folder: String(raw.folder ?? 'INBOX'),
      uidValidity: Number(raw.uidValidity ?? 0),
      lastUid: Number(raw.lastUid ?? 0),
      extra: Array.isArray(raw.extra) ? raw.extra.map(Number) : [],
      tooLarge: raw.tooLarge ?? {},
      dedupe: Boolean(raw.dedupe),
      pendingDelete: Boolean(raw.pendingDelete),
    };
  }

  async saveImapCursor(account: string, cursor: ImapCursor): Promise<void> {
    await writeAtomic(this.file(account, 'imap.json'), `${JSON.stringify(cursor)}\n`);
  }

  async pop3Seen(account: string): Promise<Set<string>> {
    const text = await readText(this.file(account, 'uidl'));
    return new Set((text ?? '').split('\n').filter(Boolean));
  }

  async addPop3Seen(account: string, uidls: string[]): Promise<void> {
    if (uidls.length === 0) return;
    const file = this.file(account, 'uidl');
    await fs.mkdir(this.dir, { recursive: true, mode: DIR_MODE }).catch(() => undefined);
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(file, 'a', FILE_MODE);
      await handle.write(`${uidls.join('\n')}\n`);
      await handle.datasync();
    } catch (err) {
      throw ioError('write', file, err);
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }

  async prunePop3Seen(account: string, present: ReadonlySet<string>): Promise<void> {
    const seen = await this.pop3Seen(account);
    const kept = [...seen].filter((u) => present.has(u));
    if (kept.length === seen.size) return;
    await writeAtomic(this.file(account, 'uidl'), kept.length ? `${kept.join('\n')}\n` : '');
  }

  async pop3Meta(account: string): Promise<Pop3Meta> {
    const raw = await readJson<Partial<Pop3Meta>>(this.file(account, 'pop3.json'));
    return { tooLarge: raw?.tooLarge ?? {} };
  }

  async savePop3Meta(account: string, meta: Pop3Meta): Promise<void> {
    await writeAtomic(this.file(account, 'pop3.json'), `${JSON.stringify(meta)}\n`);
  }
}
