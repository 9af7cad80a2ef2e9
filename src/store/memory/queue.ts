// The outgoing queue in memory, deciding as every queue does (queue-rules.ts).
import type { Readable } from 'node:stream';
import { boxOf } from '../../core/email.js';
import { newId } from '../ids.js';
import { claimed, isDue, OUTBOX_STATES, queueOrder, requeued, settled } from '../queue-rules.js';
import { outgoingRecord } from '../records.js';
import type { EmailRecord, MessageData, NewOutgoing, Outcome, QueuedMessage, Queue, Settled } from '../types.js';
import { headOf, readAll, type MemoryLog, type MemoryMail } from './mail.js';

export class MemoryQueue implements Queue {
  private readonly claimedIds = new Set<string>();

  constructor(
    private readonly mail: MemoryMail,
    private readonly log: MemoryLog,
    private readonly clock: () => Date,
  ) {}

  private outbox(): EmailRecord[] {
    return [...this.log.latest.values()].filter((r) => OUTBOX_STATES.has(r.state));
  }

  async enqueue(data: MessageData, outgoing: NewOutgoing): Promise<EmailRecord> {
    const body = await readAll(data);
    const recipients = typeof outgoing.recipients === 'function' ? await outgoing.recipients() : outgoing.recipients;
    const id = newId();
    const record = outgoingRecord({ id, size: body.length, file: id }, headOf(body), { account: outgoing.account, recipients }, this.clock());
    this.log.append([record]);
    this.mail.messages.set(id, { box: 'outbox', body, source: null });
    return structuredClone(record);
  }

  async claim(now: Date, limit: number): Promise<QueuedMessage[]> {
    const due = this.outbox()
      .filter((r) => !this.claimedIds.has(r.id) && isDue(r, now) && this.mail.messages.get(r.id)?.box === 'outbox')
      .sort(queueOrder)
      .slice(0, limit)
      .map((r) => claimed(r, now));
    this.log.append(due);
    return due.map((record) => {
      this.claimedIds.add(record.id);
      const body = this.mail.messages.get(record.id)!.body;
      return { record, size: body.length, content: async (): Promise<Buffer | Readable> => Buffer.from(body) };
    });
  }

  async place(message: QueuedMessage, outcome: Outcome, now: Date): Promise<Settled> {
    const result = settled(message.record, outcome, now);
    const stored = this.mail.messages.get(message.record.id);
    if (stored) stored.box = boxOf(result.record);
    return result;
  }

  async commit(placed: Settled[]): Promise<void> {
    this.log.append(placed.map((s) => s.record));
    for (const { record } of placed) this.claimedIds.delete(record.id);
  }

  async waiting(): Promise<EmailRecord[]> {
    return structuredClone(this.outbox());
  }

  async sentSince(account: string, since: Date): Promise<number> {
    const at = since.toISOString();
    return [...this.log.latest.values()].filter((r) => r.state === 'sent' && r.updatedAt >= at && r.account?.toLowerCase() === account.toLowerCase()).length;
  }

  async requeue(id: string, now: Date): Promise<EmailRecord> {
    const updated = requeued(this.log.latest.get(id), id, now);
    this.log.append([updated]);
    const stored = this.mail.messages.get(id);
    if (stored) stored.box = 'outbox';
    return structuredClone(updated);
  }
}
