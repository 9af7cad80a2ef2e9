// Incoming mail into the local files. A batch is kept in the durability order that makes a crash at
// any point safe: the files (tmp/, one flush, renamed into new/, folders fsynced), then their email
// records, then the seen state. A crash in between leaves files whose source id (in the file name)
// recover.ts finds at the next start; a failure in between takes the files back out of the boxes.
import { boxOf } from '../../core/email.js';
import type { IncomingAccount, IncomingBatch, IncomingStore, MessageData, SourceRef, StagedMessage } from '../types.js';
import type { FileEmailLog } from './email-log.js';
import type { IncomingEntry, MailFiles, TmpFile } from './mail-files.js';
import { recoverIncoming } from './recover.js';
import type { FileSeenState } from './seen-state.js';

export class LocalIncoming implements IncomingStore {
  /** Source ids of the stored messages, by account (lower case): read from the file names once. */
  private index: Map<string, Set<string>> | undefined;
  private building: Promise<Map<string, Set<string>>> | undefined;
  /** Batches committed while the index was being read from the files. */
  private committedMeanwhile: Array<[string, string[]]> = [];

  constructor(
    private readonly files: MailFiles,
    private readonly log: FileEmailLog,
    private readonly seen: FileSeenState,
  ) {}

  async stage(data: MessageData, source: SourceRef): Promise<StagedMessage> {
    // Staged in the inbox's tmp/ whatever the box: the runner clears that folder when it starts.
    return this.files.writeTmp(data, 'inbox', { source, batch: Buffer.isBuffer(data) });
  }

  async discard(staged: StagedMessage): Promise<void> {
    await this.files.discard(staged as TmpFile);
  }

  async commit(batch: IncomingBatch): Promise<void> {
    const items = batch.messages.map((m) => ({ tmp: m.staged as TmpFile, box: boxOf(m.record) }));
    try {
      await this.files.publish(items);
      await this.log.append(batch.messages.map((m) => m.record));
    } catch (err) {
      // Not recorded: nothing of the batch is kept, so the next cycle fetches it again (once).
      await this.files.unpublish(items);
      await Promise.all(items.map((i) => this.files.discard(i.tmp)));
      throw err;
    }
    // Stored and recorded from here on: a failure of the seen state leaves them recognised by held().
    this.remember(batch.account, batch.messages.map((m) => m.record.source ?? ''));
    await this.seen.apply(batch.account, batch.seen);
  }

  async held(account: string, sources: readonly string[]): Promise<Set<string>> {
    const stored = (await this.stored()).get(account.toLowerCase());
    return new Set(stored ? sources.filter((s) => stored.has(s)) : []);
  }

  /**
   * Repairs what a stop left (recover.ts), from one listing of inbox and skipped that also gives
   * held() its index.
   */
  async recover(accounts: readonly IncomingAccount[], now: Date): Promise<string[]> {
    const entries = await this.listEntries();
    if (!this.index) this.index = indexOf(entries);
    return recoverIncoming({ files: this.files, entries, log: this.log, seen: this.seen, accounts, now });
  }

  /** The index of stored source ids, read from the file names once. */
  private stored(): Promise<Map<string, Set<string>>> {
    if (this.index) return Promise.resolve(this.index);
    return (this.building ??= this.listEntries().then(
      (entries) => {
        const index = indexOf(entries);
        for (const [account, sources] of this.committedMeanwhile) addTo(index, account, sources);
        this.committedMeanwhile = [];
        return (this.index ??= index);
      },
      (err) => {
        this.building = undefined;
        throw err;
      },
    ));
  }

  private async listEntries(): Promise<IncomingEntry[]> {
    // failed/: received messages whose hand-off failed for good (issue 13).
    const [inbox, skipped, failed] = await Promise.all([this.files.sources('inbox'), this.files.sources('skipped'), this.files.sources('failed')]);
    return inbox.concat(skipped, failed);
  }

  private remember(account: string, sources: string[]): void {
    if (this.index) addTo(this.index, account, sources);
    else if (this.building) this.committedMeanwhile.push([account, sources]);
  }
}

function indexOf(entries: readonly IncomingEntry[]): Map<string, Set<string>> {
  const index = new Map<string, Set<string>>();
  for (const { source } of entries) {
    const key = source.account.toLowerCase();
    let set = index.get(key);
    if (!set) index.set(key, (set = new Set()));
    set.add(source.id);
  }
  return index;
}

function addTo(index: Map<string, Set<string>>, account: string, sources: readonly string[]): void {
  const key = account.toLowerCase();
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  for (const source of sources) if (source) set.add(source);
}
