// A folder the server will not open, the same failure from the probe and the reader; the probe can
// also say which folders the server has (LIST), and which one was probably meant.
import type { ProtocolError } from '../errors.js';
import type { Peer } from '../net/peer.js';
import { decodeMailboxName } from './syntax.js';

/** How many folder names a hint lists. */
const LISTED = 20;

/** A value as it can be typed after a flag: quoted when it holds a blank or a quote. */
function typed(name: string): string {
  return /[\s"'\\$`]/.test(name) ? JSON.stringify(name) : name;
}

/** The folder probably meant: the same name in another case, or the one whose last part is the name. */
function likely(folder: string, available: readonly string[]): string | undefined {
  const wanted = folder.toLowerCase();
  return available.find((f) => f.toLowerCase() === wanted) ?? available.find((f) => f.toLowerCase().split(/[/.]/).pop() === wanted.split(/[/.]/).pop());
}

/**
 * The account's folder cannot be opened (78: an account setting is wrong); `available` the server's
 * folders, when known. `several`: the folder is one of several the account reads, so no single
 * `--folder` replaces it (the fix names the list instead).
 */
export function folderMissing(peer: Peer, folder: string, detail?: string, available?: readonly string[], several = false): ProtocolError {
  const guess = available && likely(folder, available);
  const listed = available?.length
    ? `; the server has ${available.slice(0, LISTED).join(', ')}${available.length > LISTED ? ` and ${available.length - LISTED} more` : ''}`
    : '';
  const what = several ? `folder ${folder}, one of the folders it reads,` : `folder ${folder}`;
  return peer.fail({
    code: 'ECONFIG',
    message: `account ${peer.account.name}: ${what} cannot be opened${detail ? `: ${detail}` : ''}`,
    hint: `${guess ? `the folder is probably ${guess}` : several ? 'check the folder names (mailbox show NAME lists them)' : 'check the folder name'}${listed}`,
    fixes: several ? [] : [{ field: 'folder', value: guess ? typed(guess) : 'NAME' }],
    command: several ? 'LIST' : 'SELECT',
  });
}

/** An astring or nstring of a LIST line: quoted, a literal ("{n}\r\n" then the bytes), or an atom. */
function mailboxOf(rest: string): string | undefined {
  const literal = /^\{\d+\+?\}\r\n([\s\S]*)$/.exec(rest);
  if (literal) return literal[1];
  const quoted = /^"((?:[^"\\]|\\.)*)"$/.exec(rest);
  if (quoted) return quoted[1]!.replace(/\\(.)/g, '$1');
  return rest.trim() || undefined;
}

/** The selectable folders in the untagged lines of `LIST "" "*"` (RFC 3501 7.2.2), decoded from modified UTF-7. */
export function foldersOf(untagged: readonly string[]): string[] {
  return listedFolders(untagged).map((f) => f.name);
}

/** The same, each with its hierarchy delimiter (`/` when the server gives NIL: a flat namespace). */
export function listedFolders(untagged: readonly string[]): Array<{ name: string; delimiter: string }> {
  const folders: Array<{ name: string; delimiter: string }> = [];
  for (const line of untagged) {
    const match = /^\* LIST \(([^)]*)\) (NIL|"(?:[^"\\]|\\.)*") ([\s\S]*)$/i.exec(line);
    if (!match || /\\Noselect|\\NonExistent/i.test(match[1]!)) continue;
    const name = mailboxOf(match[3]!);
    const delimiter = /^nil$/i.test(match[2]!) ? '/' : match[2]!.slice(1, -1).replace(/\\(.)/g, '$1');
    if (name !== undefined) folders.push({ name: decodeMailboxName(name), delimiter: delimiter || '/' });
  }
  return folders;
}
