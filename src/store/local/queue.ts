// The outgoing queue in the local files: messages in the outbox Maildir, their state in the email log.
// A message is marked in flight (durably, per claimed batch) before it is handed to the server and
// settled after, so a runner killed mid-send finds it in flight and sends it again: nothing is lost,
// and at worst a message the server had already accepted arrives twice.
import fs from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { boxOf, type Box, type EmailState } from '../../core/email.js';
import { MailboxError } from '../../core/errors.js';
import { claimed, isDue, OUTBOX_STATES, queueOrder, requeued, settled } from '../queue-rules.js';
import { summarize } from '../message-headers.js';
import { outgoingRecord } from '../records.js';
import type { EmailRecord, MessageData, NewOutgoing, Outcome, QueuedMessage, Queue, Settled } from '../types.js';
import type { FileEmailLog } from './email-log.js';
import { readHead, type MailFiles } from './mail-files.js';

/** A claimed message and where its file is. */
class OutboxMessage implements QueuedMessage {
  constructor(
    readonly record: EmailRecord,
    readonly size: number,
    readonly path: string,
    private readonly files: MailFiles,
  ) {}

  content(): Promise<Buffer | Readable> {
    return this.files.content(this.path, this.size);
  }
}

export class LocalQueue implements Queue {
  /** Outbox records by id, kept current from the log (other processes append to it too). */
  private readonly records = new Map<string, EmailRecord>();
  /** Due messages found by the last listing of the outbox, oldest first; those before `next` are taken. */
  private candidates: Array<{ id: string; path: string; size: number }> = [];
  private next = 0;
  /** Claimed here and not yet committed: never claimed twice. */
  private readonly claimedIds = new Set<string>();

  constructor(
    private readonly files: MailFiles,
    private readonly log: FileEmailLog,
    private readonly clock: () => Date,
  ) {}

  private async refresh(): Promise<void> {
    await this.log.readNew(
      (record) => {
        if (OUTBOX_STATES.has(record.state)) this.records.set(record.id, record);
        else this.records.delete(record.id);
      },
      { onReset: () => this.records.clear(), only: OUTBOX_STATES, passed: (id) => this.records.delete(id) },
    );
  }

  async enqueue(data: MessageData, outgoing: NewOutgoing): Promise<EmailRecord> {
    const tmp = await this.files.writeTmp(data, 'outbox');
    try {
      const recipients = typeof outgoing.recipients === 'function' ? await outgoing.recipients() : outgoing.recipients;
      const record = outgoingRecord(tmp, tmp.header, { account: outgoing.account, recipients }, this.clock());
      // Log first, then publish: a file in the outbox always has its record (with the Bcc
      // recipients no header carries). A stop in between is repaired by recover().
      await this.log.append([record]);
      await this.files.publish([{ tmp, box: 'outbox' }]);
      return record;
    } catch (err) {
      await this.files.discard(tmp);
      throw err;
    }
  }

  /** Repairs what a stop between two steps left behind; run before the first cycle. */
  async recover(): Promise<string[]> {
    await this.refresh();
    const notes = await this.sweepTmp();
    const files = new Set((await this.files.list('outbox')).map((f) => f.id));
    const writing = new Set((await this.files.tmpEntries('outbox')).filter((t) => !t.writerGone).map((t) => t.id));
    const fixes: EmailRecord[] = [];
    const now = this.clock().toISOString();
    for (const record of this.records.values()) {
      // In the outbox, or being queued right now by a `mailbox send` (logged, not yet published).
      if (files.has(record.id) || writing.has(record.id)) continue;
      const moved = await this.findElsewhere(record.file);
      if (moved) {
        fixes.push(afterStop(record, moved, now));
        notes.push(`message ${record.id} was found in ${moved} after a stop; its record was updated`);
        continue;
      }
      fixes.push({ ...record, state: 'send-failed', error: 'the message file is missing from the outbox', inFlight: null, updatedAt: now });
      notes.push(`message ${record.id}: its file is missing from the outbox; marked send-failed`);
    }
    await this.log.append(fixes);
    for (const fix of fixes) this.records.delete(fix.id);
    return notes;
  }

  /**
   * The files a killed `mailbox send` left in outbox/tmp: published when their record was written
   * (enqueue logs, then publishes: the stop came in between), else removed (nothing was queued).
   */
  private async sweepTmp(): Promise<string[]> {
    const notes: string[] = [];
    for (const entry of await this.files.tmpEntries('outbox')) {
      if (!entry.writerGone) continue;
      const record = this.records.get(entry.id);
      if (record && (await this.files.publishOrphan('outbox', entry, record.file))) {
        notes.push(`message ${record.id} was queued when a stop came; it is in the outbox now`);
      } else {
        await this.files.removeOrphan(entry);
      }
    }
    return notes;
  }

  private async findElsewhere(file: string): Promise<Box | undefined> {
    for (const box of ['sent', 'failed', 'skipped'] as const) if (await this.files.locate(file, box)) return box;
    return undefined;
  }

  async claim(now: Date, limit: number): Promise<QueuedMessage[]> {
    await this.refresh();
    let taken = this.take(now, limit);
    // The last listing is used up: look again (messages queued since, or never listed).
    if (taken.length === 0) {
      await this.listDue(now);
      taken = this.take(now, limit);
    }
    if (taken.length === 0) return [];
    const records = taken.map((t) => claimed(t.record, now));
    await this.log.append(records);
    for (const r of records) {
      this.records.set(r.id, r);
      this.claimedIds.add(r.id);
    }
    return records.map((r, i) => new OutboxMessage(r, taken[i]!.size, taken[i]!.path, this.files));
  }

  /** Up to `limit` listed candidates that are still waiting and due (the log may have moved on). */
  private take(now: Date, limit: number): Array<{ record: EmailRecord; path: string; size: number }> {
    const taken: Array<{ record: EmailRecord; path: string; size: number }> = [];
    while (taken.length < limit && this.next < this.candidates.length) {
      const candidate = this.candidates[this.next++]!;
      const record = this.records.get(candidate.id);
      if (record && !this.claimedIds.has(record.id) && isDue(record, now)) taken.push({ record, path: candidate.path, size: candidate.size });
    }
    return taken;
  }

  private async listDue(now: Date): Promise<void> {
    // A runner lives long: what a `mailbox send` killed meanwhile left behind is cleared as it goes.
    await this.sweepTmp();
    const adopted: EmailRecord[] = [];
    const due: Array<{ record: EmailRecord; path: string; size: number }> = [];
    for (const file of await this.files.list('outbox')) {
      let record = this.records.get(file.id);
      // A name without S= (a file put there by hand): its size decides whether it is read whole.
      const size = file.size ?? (await fs.stat(file.path).catch(() => ({ size: 0 }))).size;
      if (!record) {
        // Put there by hand, or put back by `emails retry` before its record was read: send it.
        const head = await readHead(file.path).catch(() => Buffer.alloc(0));
        const summary = summarize(head);
        const recipients = [...summary.to, ...summary.cc, ...summary.bcc];
        record = outgoingRecord({ id: file.id, size, file: file.file }, head, { account: null, recipients }, now);
        adopted.push(record);
        this.records.set(record.id, record);
      }
      if (!this.claimedIds.has(record.id) && isDue(record, now)) due.push({ record, path: file.path, size });
    }
    await this.log.append(adopted);
    this.next = 0;
    this.candidates = due.sort((a, b) => queueOrder(a.record, b.record)).map((d) => ({ id: d.record.id, path: d.path, size: d.size }));
  }

  async waiting(): Promise<EmailRecord[]> {
    await this.refresh();
    return [...this.records.values()];
  }

  async place(message: QueuedMessage, outcome: Outcome, now: Date): Promise<Settled> {
    const result = settled(message.record, outcome, now);
    const box = boxOf(result.record);
    // The file moves first (a rename, at once: a message the server took leaves the outbox before
    // anything else can happen); a stop before its log line leaves a state recover() repairs.
    if (box !== 'outbox') await this.files.move(message.record.file, 'outbox', box, message instanceof OutboxMessage ? message.path : undefined);
    return result;
  }

  async commit(placed: Settled[]): Promise<void> {
    if (placed.length === 0) return;
    await this.files.sync();
    await this.log.append(placed.map((s) => s.record));
    for (const { record } of placed) {
      this.claimedIds.delete(record.id);
      if (OUTBOX_STATES.has(record.state)) this.records.set(record.id, record);
      else this.records.delete(record.id);
    }
  }

  sentSince(account: string, since: Date): Promise<number> {
    return this.log.sentSince(account, since);
  }

  async requeue(id: string, now: Date): Promise<EmailRecord> {
    const record = (await this.log.readAll()).get(id);
    const updated = requeued(record, id, now);
    if (record!.state === 'send-failed' && !(await this.files.locate(record!.file, 'failed'))) {
      throw new MailboxError('ENOTFOUND', `the file of email ${id} is no longer in ${this.files.pathOf('failed', '')}`);
    }
    // Record first: a runner that sees the file in the outbox then also sees its record (with
    // the envelope). A stop in between leaves it failed, and the retry can simply be repeated.
    await this.log.append([updated]);
    if (record!.state === 'send-failed') {
      await this.files.move(record!.file, 'failed', 'outbox');
      await this.files.sync();
    }
    return updated;
  }
}

/** A record whose file a stop left in another box than its state says: the file tells what happened. */
function afterStop(record: EmailRecord, box: Box, now: string): EmailRecord {
  const state: EmailState = box === 'sent' ? 'sent' : box === 'failed' ? 'send-failed' : 'send-ignored';
  const note = 'the runner stopped before recording the result';
  return {
    ...record,
    state,
    inFlight: null,
    nextAttempt: null,
    reply: state === 'sent' ? (record.reply ?? `accepted (${note})`) : (record.reply ?? null),
    error: state === 'sent' ? null : (record.error ?? note),
    updatedAt: now,
  };
}
