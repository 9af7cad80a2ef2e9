// After a runner was killed (its lock was found stale), messages may be stored whose seen state or
// log record was not yet written: the last batch. Each stored file carries its source id, so they
// are found and recorded now, and the next cycle does not store them twice.
import fs from 'node:fs/promises';
import type { Account } from '../core/account.js';
import type { Box } from '../core/email.js';
import type { EmailRecord } from '../store/email-log.js';
import type { Stores } from '../store/local-store.js';
import type { StoredFile } from '../store/mail-store.js';
import { MAX_HEADER_BYTES, summarize } from '../store/message-headers.js';
import { receivedRecord } from './deliver.js';

async function readHead(file: string): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(MAX_HEADER_BYTES, 64 * 1024));
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

type Found = StoredFile & { box: Box };

/** Files of `account` stored but not recorded as seen. */
async function unrecorded(stores: Stores, account: Account, files: Found[]): Promise<Found[]> {
  if (account.type === 'imap') {
    const cursor = await stores.seen.imapCursor(account.name);
    if (!cursor) return [];
    const extra = new Set(cursor.extra);
    const found = files.filter((f) => {
      const [uv, uid] = f.source!.id.split('/').map(Number);
      return uv === cursor.uidValidity && uid! > cursor.lastUid && !extra.has(uid!);
    });
    if (found.length) {
      cursor.extra = [...extra, ...found.map((f) => Number(f.source!.id.split('/')[1]))].sort((a, b) => a - b);
      await stores.seen.saveImapCursor(account.name, cursor);
    }
    return found;
  }
  const seen = await stores.seen.pop3Seen(account.name);
  const found = files.filter((f) => !seen.has(f.source!.id));
  await stores.seen.addPop3Seen(account.name, [...new Set(found.map((f) => f.source!.id))]);
  return found;
}

/** Returns a note per account that had messages to recover. */
export async function recoverIncoming(stores: Stores, accounts: Account[], clock: () => Date): Promise<string[]> {
  const byAccount = new Map<string, Found[]>();
  for (const box of ['inbox', 'skipped'] as const) {
    for (const file of await stores.mail.list(box)) {
      if (!file.source) continue;
      const key = file.source.account.toLowerCase();
      byAccount.set(key, [...(byAccount.get(key) ?? []), { ...file, box }]);
    }
  }
  const notes: string[] = [];
  const recovered: Array<Found & { account: string }> = [];
  for (const account of accounts) {
    const files = byAccount.get(account.name.toLowerCase());
    if (!files?.length) continue;
    const found = await unrecorded(stores, account, files);
    if (found.length) {
      notes.push(`account ${account.name}: ${found.length} message(s) stored before the previous runner stopped were recognised and will not be fetched again`);
      recovered.push(...found.map((f) => ({ ...f, account: account.name })));
    }
  }
  if (recovered.length === 0) return notes;
  // Their log records may be missing too (the log is written just before the seen state).
  const ids = new Set(recovered.map((f) => f.id));
  await stores.log.scan((r) => ids.delete(r.id));
  const now = clock();
  const records: EmailRecord[] = [];
  for (const f of recovered) {
    if (!ids.has(f.id)) continue;
    const header = await readHead(f.path).catch(() => Buffer.alloc(0));
    const reason = f.box === 'skipped' ? 'sender blocked by the inbound filter' : null;
    records.push(receivedRecord({ id: f.id, size: f.size ?? 0 }, summarize(header), { id: f.id, box: f.box, file: f.file, path: f.path, size: f.size ?? 0 }, f.account, f.source!.id, reason, now));
  }
  await stores.log.append(records);
  return notes;
}
