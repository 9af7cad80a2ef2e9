// Stored messages written out as Maildir files (`mailbox emails export --maildir`), from any store, so
// tools that read Maildir keep working on a database store. Each message byte for byte, named as the
// local store names its files (ID,S=SIZE[,src=ACCOUNT+SOURCE]), written to tmp/, fsynced and renamed
// into new/. A message whose file is there already (in new/ or cur/) is left alone: exporting again
// writes only what is new.
import path from 'node:path';
import { boxOf, type Box } from '../core/email.js';
import { fileName } from './local/file-names.js';
import { Maildir } from './local/maildir.js';
import type { EmailRecord, Stores } from './types.js';

/** Messages written at the same time. */
const IN_FLIGHT = 8;

export interface ExportCounts {
  written: number;
  present: number;
  /** Records whose message is not in the store. */
  missing: number;
}

export interface ExportResult {
  /** Per box exported. */
  boxes: Partial<Record<Box, ExportCounts>>;
  total: ExportCounts;
}

/** The file name a record's message gets. */
export function exportName(record: EmailRecord): string {
  const source = record.account && record.source ? { account: record.account, id: record.source } : undefined;
  return fileName(record.id, record.size, source);
}

/**
 * Writes the messages of `box` into the Maildir `dir`, or, without a box, those of every box into
 * `dir/BOX` (the local store's layout).
 */
export async function exportMaildir(stores: Pick<Stores, 'log' | 'mail'>, dir: string, box?: Box): Promise<ExportResult> {
  const records = [...(await stores.log.readAll()).values()].filter((r) => !box || boxOf(r) === box);
  const folders = new Map<Box, Maildir>();
  const folderOf = async (b: Box): Promise<Maildir> => {
    let folder = folders.get(b);
    if (!folder) {
      folder = new Maildir(box ? dir : path.join(dir, b));
      await folder.ensure();
      folders.set(b, folder);
    }
    return folder;
  };
  const result: ExportResult = { boxes: {}, total: { written: 0, present: 0, missing: 0 } };
  const count = (b: Box, what: keyof ExportCounts) => {
    const counts = (result.boxes[b] ??= { written: 0, present: 0, missing: 0 });
    counts[what]++;
    result.total[what]++;
  };
  const exportOne = async (record: EmailRecord) => {
    const b = boxOf(record);
    const folder = await folderOf(b);
    const name = exportName(record);
    if (await folder.locate(name)) return count(b, 'present');
    const body = await stores.mail.read(record);
    if (!body) return count(b, 'missing');
    const tmp = `${name}.tmp`;
    await folder.discardTmp(tmp); // left by an export that was stopped
    try {
      await folder.writeTmp(tmp, body);
      await folder.publishTo(tmp, folder.path('new', name));
    } catch (err) {
      body.destroy();
      await folder.discardTmp(tmp);
      throw err;
    }
    count(b, 'written');
  };
  let next = 0;
  const worker = async () => {
    while (next < records.length) await exportOne(records[next++]!);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  for (const folder of folders.values()) await folder.sync();
  return result;
}
