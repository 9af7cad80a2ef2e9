// Recovery of incoming mail, at every runner start, whatever run.lock and the seen state say: a stop
// between the steps of a commit (files, email log, seen state) leaves files the seen state or the log
// does not know, and a seen-state file moved away forgets them all. Each file names its source, so
// they are recognised now: the seen state is completed, missing records are written, and nothing is
// fetched twice (the reader also asks held() before fetching).
import type { Box } from '../../core/email.js';
import { parseImapSourceId } from '../../core/imap-folders.js';
import { summarize } from '../message-headers.js';
import { receivedRecord } from '../records.js';
import type { EmailRecord, IncomingAccount } from '../types.js';
import type { FileEmailLog } from './email-log.js';
import type { StoredFile } from './file-names.js';
import { readHead, type IncomingEntry, type MailFiles } from './mail-files.js';
import type { FileSeenState } from './seen-state.js';

/** Entries of `account` the seen state does not cover; the seen state is completed with them. */
async function unrecorded(seen: FileSeenState, account: IncomingAccount, entries: IncomingEntry[]): Promise<IncomingEntry[]> {
  if (account.type === 'imap') {
    // One cursor per folder read (issue 13): the account's own, and one per other folder (its slot).
    const bySlot = new Map<string, IncomingEntry[]>();
    for (const e of entries) {
      const slot = parseImapSourceId(e.source.id).folder ?? '';
      bySlot.set(slot, [...(bySlot.get(slot) ?? []), e]);
    }
    const found: IncomingEntry[] = [];
    for (const [slot, mine] of bySlot) {
      const cursor = await seen.imapCursor(account.name, slot);
      // No cursor (a first read, or the file was moved away): the reader rebuilds it, asking held().
      if (!cursor) {
        found.push(...mine);
        continue;
      }
      const extra = new Set(cursor.extra);
      const here = mine.filter((e) => {
        const { uidValidity, uid } = parseImapSourceId(e.source.id);
        return uidValidity === cursor.uidValidity && uid > cursor.lastUid && !extra.has(uid);
      });
      if (here.length) {
        cursor.extra = [...extra, ...here.map((e) => parseImapSourceId(e.source.id).uid)].sort((a, b) => a - b);
        await seen.saveImapCursor(account.name, cursor, slot);
      }
      found.push(...here);
    }
    return found;
  }
  const known = await seen.pop3Seen(account.name);
  const found = entries.filter((e) => !known.has(e.source.id));
  await seen.addPop3Seen(account.name, [...new Set(found.map((e) => e.source.id))]);
  return found;
}

export interface IncomingRecovery {
  files: MailFiles;
  /** Every stored message that names its source (inbox and skipped). */
  entries: IncomingEntry[];
  log: FileEmailLog;
  seen: FileSeenState;
  accounts: readonly IncomingAccount[];
  now: Date;
}

/** Returns a note per account that had messages to recognise. */
export async function recoverIncoming({ files, entries, log, seen, accounts, now }: IncomingRecovery): Promise<string[]> {
  const byAccount = new Map<string, IncomingEntry[]>();
  for (const entry of entries) {
    const key = entry.source.account.toLowerCase();
    const list = byAccount.get(key);
    if (list) list.push(entry);
    else byAccount.set(key, [entry]);
  }
  const notes: string[] = [];
  const recognised: Array<{ file: StoredFile; box: Box; account: IncomingAccount; source: string }> = [];
  for (const account of accounts) {
    const mine = byAccount.get(account.name.toLowerCase());
    if (!mine?.length) continue;
    const found = await unrecorded(seen, account, mine);
    if (found.length === 0) continue;
    notes.push(`account ${account.name}: ${found.length} message(s) already stored but not recorded as seen were recognised by their source ids and will not be fetched again`);
    recognised.push(...found.map((e) => ({ file: files.fileOf(e), box: e.box, account, source: e.source.id })));
  }
  if (recognised.length === 0) return notes;
  // Their log records may be missing too (the log is written just before the seen state).
  const missing = new Set(recognised.map((r) => r.file.id));
  await log.scanIds((id) => missing.delete(id));
  const records: EmailRecord[] = [];
  for (const { file, box, account, source } of recognised) {
    if (!missing.has(file.id)) continue;
    const header = await readHead(file.path).catch(() => Buffer.alloc(0));
    const reason = box === 'skipped' ? 'sender blocked by the inbound filter' : null;
    // A stop before its record: its hand-off (issue 13) was never tried, so it is pending now.
    records.push(
      receivedRecord({ id: file.id, size: file.size ?? 0, file: file.file }, summarize(header), account.name, source, reason, now, {
        dest: account.deliver,
        folder: account.type === 'imap' ? (parseImapSourceId(source).folder ?? account.folder ?? 'INBOX') : undefined,
      }),
    );
  }
  await log.append(records);
  return notes;
}
