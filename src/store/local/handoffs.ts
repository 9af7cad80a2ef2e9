// Hand-offs (issue 13) in the local files: the state is on the email records (the log), the message
// stays in the inbox until its hand-off fails for good (then it moves to failed/). The open hand-offs
// are kept current from the log, read incrementally through a reader of its own (the queue has its own).
import { MailboxError } from '../../core/errors.js';
import { handOffCounts, handOffDue, handOffOpen, handOffRetried } from '../handoff-rules.js';
import type { EmailRecord, HandOffStore } from '../types.js';
import { FileEmailLog } from './email-log.js';
import type { MailFiles } from './mail-files.js';

export class LocalHandOffs implements HandOffStore {
  private readonly log: FileEmailLog;
  /** Records whose hand-off is not delivered, by id. */
  private readonly open = new Map<string, EmailRecord>();

  constructor(
    private readonly files: MailFiles,
    logFile: string,
  ) {
    this.log = new FileEmailLog(logFile);
  }

  private async refresh(): Promise<void> {
    await this.log.readNew(
      (record) => {
        if (handOffOpen(record)) this.open.set(record.id, record);
        else this.open.delete(record.id);
      },
      { onReset: () => this.open.clear() },
    );
  }

  private async mine(account: string): Promise<EmailRecord[]> {
    await this.refresh();
    const name = account.toLowerCase();
    return [...this.open.values()].filter((r) => r.account?.toLowerCase() === name);
  }

  async due(account: string, now: Date): Promise<EmailRecord[]> {
    return (await this.mine(account)).filter((r) => handOffDue(r, now)).sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async undelivered(account: string): Promise<Set<string>> {
    return new Set((await this.mine(account)).flatMap((r) => (r.source ? [r.source] : [])));
  }

  async settle(records: readonly EmailRecord[]): Promise<void> {
    if (records.length === 0) return;
    // The files move first; a stop before the records is found by filePath(), which looks in both boxes.
    const failed = records.filter((r) => r.state === 'delivery-failed');
    for (const record of failed) await this.files.move(record.file, 'inbox', 'failed');
    if (failed.length) await this.files.sync();
    await this.log.append([...records]);
    for (const record of records) {
      if (handOffOpen(record)) this.open.set(record.id, record);
      else this.open.delete(record.id);
    }
  }

  async retry(id: string, now: Date): Promise<EmailRecord> {
    await this.refresh();
    const record = this.open.get(id) ?? (await this.log.readAll()).get(id);
    const updated = handOffRetried(record, id, now);
    if (record!.state === 'delivery-failed') {
      if (!(await this.files.filePath(record!))) throw new MailboxError('ENOTFOUND', `the file of email ${id} is no longer in ${this.files.pathOf('failed', '')}`);
      await this.files.move(record!.file, 'failed', 'inbox');
      await this.files.sync();
    }
    await this.log.append([updated]);
    this.open.set(id, updated);
    return updated;
  }

  async counts(): Promise<Record<string, { pending: number; failed: number }>> {
    await this.refresh();
    return handOffCounts(this.open.values());
  }
}
