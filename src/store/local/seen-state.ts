// The seen state as files under state/seen/: which messages of each incoming account are stored.
// Written only after the messages are durable (see LocalIncoming.commit), read before deleting
// anything from a server.
import path from 'node:path';
import { MailboxError } from '../../core/errors.js';
import { imapCursorOf } from '../cursor.js';
import type { ImapCursor, Pop3Meta, SeenChange, SeenState } from '../types.js';
import { appendLines, readJson as readJsonFile, readText, writeAtomic } from './files.js';

function readJson<T>(file: string): Promise<T | undefined> {
  return readJsonFile<T>(
    file,
    () =>
      new MailboxError('EIO', `${file} is not valid JSON`, {
        hint: 'the seen state is damaged; move the file away and mail already stored will be recognised by its source id',
      }),
  );
}

/** ACCOUNT.imap.json (ACCOUNT.imap+FOLDER.json for the other folders an account reads), ACCOUNT.uidl (one UIDL a line), ACCOUNT.pop3.json. */
export class FileSeenState implements SeenState {
  constructor(readonly dir: string) {}

  private file(account: string, ext: string): string {
    return path.join(this.dir, `${account.toLowerCase()}.${ext}`);
  }

  /** The own folder's file is the one it always was: a single-folder state stays valid as it is. */
  private cursorFile(account: string, slot: string | undefined): string {
    return this.file(account, slot ? `imap+${Buffer.from(slot).toString('base64url')}.json` : 'imap.json');
  }

  async imapCursor(account: string, slot?: string): Promise<ImapCursor | undefined> {
    const raw = await readJson<Partial<ImapCursor>>(this.cursorFile(account, slot));
    return raw ? imapCursorOf(raw) : undefined;
  }

  async saveImapCursor(account: string, cursor: ImapCursor, slot?: string): Promise<void> {
    await writeAtomic(this.cursorFile(account, slot), `${JSON.stringify(cursor)}\n`);
  }

  async pop3Seen(account: string): Promise<Set<string>> {
    const text = await readText(this.file(account, 'uidl'));
    return new Set((text ?? '').split('\n').filter(Boolean));
  }

  async addPop3Seen(account: string, uidls: string[]): Promise<void> {
    await appendLines(this.file(account, 'uidl'), uidls);
  }

  async prunePop3Seen(account: string, present: ReadonlySet<string>): Promise<void> {
    const seen = await this.pop3Seen(account);
    const kept = [...seen].filter((u) => present.has(u));
    if (kept.length === seen.size) return;
    await writeAtomic(this.file(account, 'uidl'), kept.length ? `${kept.join('\n')}\n` : '');
  }

  /** Applies what a committed batch changed. */
  apply(account: string, change: SeenChange): Promise<void> {
    return 'imap' in change ? this.saveImapCursor(account, change.imap, change.slot) : this.addPop3Seen(account, change.pop3);
  }

  async pop3Meta(account: string): Promise<Pop3Meta> {
    const raw = await readJson<Partial<Pop3Meta>>(this.file(account, 'pop3.json'));
    return { tooLarge: raw?.tooLarge ?? {} };
  }

  async savePop3Meta(account: string, meta: Pop3Meta): Promise<void> {
    await writeAtomic(this.file(account, 'pop3.json'), `${JSON.stringify(meta)}\n`);
  }
}
