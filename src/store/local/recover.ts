// Recovery of incoming mail, at every runner start, whatever run.lock and the seen state say: a stop
// between the steps of a commit (files, email log, seen state) leaves files the seen state or the log
// does not know, and a seen-state file moved away forgets them all. Each file names its source, so
// they are recognised now: the seen state is completed, missing records are written, and nothing is
// fetched twice (the reader also asks held() before fetching).
import type { Box } from '../../core/email.js';
import { summarize } from '../message-headers.js';
import { receivedRecord } from '../records.js';
import type { EmailRecord, IncomingAccount } from '../types.js';
import type { FileEmailLog } from './email-log.js';
import { readHead, type StoredFile } from './mail-files.js';
import type { FileSeenState } from './seen-state.js';

export type IncomingFile = StoredFile & { box: Box; source: NonNullable<StoredFile['source']> };

function imapUid(source: string): [number, number] {
  const [uidValidity, uid] = source.split('/').map(Number);
  return [uidValidity ?? NaN, uid ?? NaN];
}

/** Files of `account` the seen state does not cover; the seen state is completed with them. */
async function unrecorded(seen: FileSeenState, account: IncomingAccount, files: IncomingFile[]): Promise<IncomingFile[]> {
  if (account.type === 'imap') {
    const cursor = await seen.imapCursor(account.name);
    // No cursor (a first read, or the file was moved away): the reader rebuilds it, asking held().
    if (!cursor) return files;
    const extra = new Set(cursor.extra);
    const found = files.filter((f) => {
      const [uidValidity, uid] = imapUid(f.source.id);
      return uidValidity === cursor.uidValidity && uid > cursor.lastUid && !extra.has(uid);
    });
    if (found.length) {
      cursor.extra = [...extra, ...found.map((f) => imapUid(f.source.id)[1])].sort((a, b) => a - b);
      await seen.saveImapCursor(account.name, cursor);
    }
    return found;
  }
  const known = await seen.pop3Seen(account.name);
  const found = files.filter((f) => !known.has(f.source.id));
  await seen.addPop3Seen(account.name, [...new Set(found.map((f) => f.source.id))]);
  return found;
}

export interface IncomingRecovery {
  files: IncomingFile[];
  log: FileEmailLog;
  seen: FileSeenState;
  accounts: readonly IncomingAccount[];
  now: Date;
}

/** Returns a note per account that had messages to recognise. */
export async function recoverIncoming({ files, log, seen, accounts, now }: IncomingRecovery): Promise<string[]> {
  const byAccount = new Map<string, IncomingFile[]>();
  for (const file of files) {
    const key = file.source.account.toLowerCase();
    const list = byAccount.get(key);
    if (list) list.push(file);
    else byAccount.set(key, [file]);
  }
  const notes: string[] = [];
  const recognised: Array<IncomingFile & { account: string }> = [];
  for (const account of accounts) {
    const mine = byAccount.get(account.name.toLowerCase());
    if (!mine?.length) continue;
    const found = await unrecorded(seen, account, mine);
    if (found.length === 0) continue;
    notes.push(`account ${account.name}: ${found.length} message(s) already stored but not recorded as seen were recognised by their source ids and will not be fetched again`);
    recognised.push(...found.map((f) => ({ ...f, account: account.name })));
  }
  if (recognised.length === 0) return notes;
  // Their log records may be missing too (the log is written just before the seen state).
  const missing = new Set(recognised.map((f) => f.id));
  await log.scanIds((id) => missing.delete(id));
  const records: EmailRecord[] = [];
  for (const f of recognised) {
    if (!missing.has(f.id)) continue;
    const header = await readHead(f.path).catch(() => Buffer.alloc(0));
    const reason = f.box === 'skipped' ? 'sender blocked by the inbound filter' : null;
    records.push(receivedRecord({ id: f.id, size: f.size ?? 0, file: f.file }, summarize(header), f.account, f.source.id, reason, now));
  }
  await log.append(records);
  return notes;
}
