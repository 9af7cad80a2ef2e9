// Several IMAP folders per account (issue 13): which folders an account reads, IMAP LIST wildcards
// (`*` anything, `%` anything but the hierarchy delimiter), and the source ids that keep each folder's
// messages apart. The account's own folder (`folder`, default INBOX) keeps the ids it always had,
// "UIDVALIDITY/UID", so a store written before several folders were read stays valid as it is; any
// other folder's messages are "UIDVALIDITY/UID/FOLDER".
import type { Account } from './account.js';

/** Whether `name` matches a LIST pattern (RFC 3501 §6.3.8); INBOX is case-insensitive. */
export function folderMatches(pattern: string, name: string, delimiter = '/'): boolean {
  const canon = (s: string) => (/^inbox(?=$|[/.])/i.test(s) ? `INBOX${s.slice(5)}` : s);
  const escaped = [...canon(pattern)].map((c) => {
    if (c === '*') return '.*';
    if (c === '%') return `[^${delimiter.replace(/[\]\\^-]/g, '\\$&')}]*`;
    return c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${escaped.join('')}$`, 's').test(canon(name));
}

export function isPattern(folder: string): boolean {
  return folder.includes('*') || folder.includes('%');
}

/** Whether the account reads more than its one folder: names several, or a pattern. */
export function readsSeveral(account: Pick<Account, 'folders'>): boolean {
  return Boolean(account.folders?.length);
}

/**
 * The folders to read, in a stable order: the named ones and those matching a pattern, among the
 * folders the server lists (selectable ones), less the excluded (names or patterns).
 */
export function foldersToRead(account: Pick<Account, 'folder' | 'folders' | 'excludeFolders'>, listed: ReadonlyArray<{ name: string; delimiter: string }>): string[] {
  const wanted = account.folders?.length ? account.folders : [account.folder ?? 'INBOX'];
  const out: string[] = [];
  for (const entry of wanted) {
    const matches = isPattern(entry) ? listed.filter((l) => folderMatches(entry, l.name, l.delimiter)).map((l) => l.name) : [entry];
    for (const name of matches) if (!out.includes(name)) out.push(name);
  }
  const excluded = (name: string) => (account.excludeFolders ?? []).some((x) => folderMatches(x, name, listed.find((l) => l.name === name)?.delimiter));
  return out.filter((name) => !excluded(name));
}

/**
 * The folder push watches: IDLE watches the one selected folder (watching several on one connection
 * would need NOTIFY, RFC 5465), so the first folder the reader reads now, among those the server lists
 * (named folders keep their order); the account's own folder when it reads one. Undefined: none of
 * the folders it reads exists yet.
 */
export function folderToWatch(account: Pick<Account, 'folder' | 'folders' | 'excludeFolders'>, listed: ReadonlyArray<{ name: string; delimiter: string }>): string | undefined {
  if (!readsSeveral(account)) return account.folder ?? 'INBOX';
  const names = new Set(listed.map((l) => l.name));
  return foldersToRead(account, listed).find((name) => names.has(name));
}

/** A message's source id: "UIDVALIDITY/UID" in the account's own folder, "UIDVALIDITY/UID/FOLDER" elsewhere. */
export function imapSourceId(uidValidity: number, uid: number, folder: string, ownFolder: string): string {
  return folder === ownFolder ? `${uidValidity}/${uid}` : `${uidValidity}/${uid}/${folder}`;
}

/** The parts of an IMAP source id; folder null for the account's own folder. */
export function parseImapSourceId(id: string): { uidValidity: number; uid: number; folder: string | null } {
  const first = id.indexOf('/');
  const second = id.indexOf('/', first + 1);
  const uid = second < 0 ? id.slice(first + 1) : id.slice(first + 1, second);
  return { uidValidity: Number(id.slice(0, first)), uid: Number(uid), folder: second < 0 ? null : id.slice(second + 1) };
}
