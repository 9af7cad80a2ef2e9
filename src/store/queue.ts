// The outgoing queue: messages in the outbox Maildir, their state in the email log. A message is
// marked in flight (durably, per batch) before it is handed to the server and settled after, so a
// runner killed mid-send finds it in flight and sends it again: nothing is lost, and at worst a
// message the server had already accepted arrives twice.
import fs from 'node:fs/promises';
import type { Box, EmailState } from '../core/email.js';
import { MailboxError } from '../core/errors.js';
import { nextAttemptAt } from '../core/retry.js';
import { boxOf, type EmailLog, type EmailRecord } from './email-log.js';
import { fileName, type MailStore } from './mail-store.js';
import { summarize, MAX_HEADER_BYTES } from './message-headers.js';

export interface QueuedMessage {
  record: EmailRecord;
  path: string;
}

export type Outcome =
  | { kind: 'sent'; reply: string; account: string }
  | { kind: 'failed'; error: string }
  | { kind: 'retry'; error: string }
  | { kind: 'ignored'; reason: string }
  /** Marked in flight but never handed to the server (a stop came first): the attempt is taken back. */
  | { kind: 'untried' };

export interface Settled {
  record: EmailRecord;
  /** For a retry that ran out of attempts: it failed instead. */
  gaveUp: boolean;
}

export interface NewOutgoing {
  /** The SMTP account that will send it (the active one when queued), if any. */
  account: string | null;
  /** Envelope recipients: To, Cc and Bcc (or, for a message given whole, read once it is written). */
  recipients: string[] | (() => Promise<string[]>);
}

/** The queue of outgoing mail; a database could implement the same (claiming rows FOR UPDATE SKIP LOCKED). */
export interface Queue {
  enqueue(data: Buffer | AsyncIterable<Buffer>, outgoing: NewOutgoing): Promise<EmailRecord>;
  /** Repairs what a stop between two steps left behind; run once before the first cycle. */
  recover(): Promise<string[]>;
  /** Messages due now, oldest first: ready, retry time reached, or interrupted in flight. */
  due(now: Date): Promise<QueuedMessage[]>;
  /** Messages waiting in the outbox (due or not). */
  waiting(): Promise<EmailRecord[]>;
  begin(messages: QueuedMessage[], now: Date): Promise<void>;
  /** Applies an outcome at once: the file moves to the box of its new state (not yet durable, not yet logged). */
  place(message: QueuedMessage, outcome: Outcome, now: Date): Promise<Settled>;
  /** Makes placed outcomes durable (folders fsynced) and writes them to the log, one append for all. */
  commit(placed: Settled[]): Promise<void>;
  /** place() each, then commit() them. */
  settle(results: Array<{ message: QueuedMessage; outcome: Outcome }>, now: Date): Promise<Settled[]>;
  requeue(id: string, now: Date): Promise<EmailRecord>;
}

const OUTBOX_STATES: ReadonlySet<EmailState> = new Set(['send-ready', 'send-retry-backoff']);

async function readHead(file: string): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, MAX_HEADER_BYTES), 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export function outgoingRecord(
  id: string,
  file: string,
  size: number,
  header: Buffer,
  outgoing: { account: string | null; recipients: string[] },
  now: Date,
): EmailRecord {
  const summary = summarize(header);
  const iso = now.toISOString();
  return {
    id,
    state: 'send-ready',
    account: outgoing.account,
    date: summary.date,
    from: summary.from,
    to: summary.to,
    cc: summary.cc,
    subject: summary.subject,
    size,
    attempts: 0,
    nextAttempt: null,
    error: null,
    file,
    messageId: summary.messageId,
    source: null,
    recipients: outgoing.recipients,
    reply: null,
    inFlight: null,
    createdAt: iso,
    updatedAt: iso,
  };
}

export class LocalQueue implements Queue {
  /** Outbox records by id, kept current from the log (other processes append to it too). */
  private readonly records = new Map<string, EmailRecord>();

  constructor(
    private readonly mail: MailStore,
    private readonly log: EmailLog,
    private readonly clock: () => Date = () => new Date(),
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

  async enqueue(data: Buffer | AsyncIterable<Buffer>, outgoing: NewOutgoing): Promise<EmailRecord> {
    const pending = await this.mail.write(data);
    try {
      const recipients = typeof outgoing.recipients === 'function' ? await outgoing.recipients() : outgoing.recipients;
      const record = outgoingRecord(pending.id, fileName(pending.id, pending.size), pending.size, pending.header, { account: outgoing.account, recipients }, this.clock());
      // Log first, then publish: a file in the outbox always has its record (with the Bcc
      // recipients no header carries). A stop in between is repaired by recover().
      await this.log.append([record]);
      await pending.commit('outbox');
      await this.mail.sync();
      return record;
    } catch (err) {
      await pending.discard();
      throw err;
    }
  }

  async recover(): Promise<string[]> {
    await this.refresh();
    const notes: string[] = [];
    const files = new Map((await this.mail.list('outbox')).map((f) => [f.id, f]));
    const fixes: EmailRecord[] = [];
    const now = this.clock().toISOString();
    for (const record of this.records.values()) {
      if (files.has(record.id)) continue;
      const moved = await this.findElsewhere(record.file);
      if (moved) {
        fixes.push(this.afterStop(record, moved, now));
        notes.push(`message ${record.id} was found in ${moved} after a stop; its record was updated`);
        continue;
      }
      const tmp = await this.publishOrphan(record);
      if (tmp) {
        notes.push(`message ${record.id} was queued when a stop came; it is in the outbox now`);
        continue;
      }
      fixes.push({ ...record, state: 'send-failed', error: 'the message file is missing from the outbox', inFlight: null, updatedAt: now });
      notes.push(`message ${record.id}: its file is missing from the outbox; marked send-failed`);
    }
    await this.log.append(fixes);
    for (const fix of fixes) this.records.delete(fix.id);
    return notes;
  }

  private async findElsewhere(file: string): Promise<Box | undefined> {
    for (const box of ['sent', 'failed', 'skipped'] as const) if (await this.mail.locate(file, box)) return box;
    return undefined;
  }

  private afterStop(record: EmailRecord, box: Box, now: string): EmailRecord {
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

  private async publishOrphan(record: EmailRecord): Promise<boolean> {
    // enqueue() writes outbox/tmp/ID.tmp, logs, then renames: finish the rename.
    const tmp = this.mail.pathOf('outbox', record.file).replace(/\/new\/[^/]+$/, `/tmp/${record.id}.tmp`);
    try {
      await fs.rename(tmp, this.mail.pathOf('outbox', record.file));
      await this.mail.sync();
      return true;
    } catch {
      return false;
    }
  }

  async due(now: Date): Promise<QueuedMessage[]> {
    await this.refresh();
    const due: QueuedMessage[] = [];
    const adopted: EmailRecord[] = [];
    for (const file of await this.mail.list('outbox')) {
      let record = this.records.get(file.id);
      if (!record) {
        // Put there by hand, or put back by `emails retry` before its record was read: send it.
        const head = await readHead(file.path).catch(() => Buffer.alloc(0));
        const summary = summarize(head);
        record = outgoingRecord(file.id, file.file, file.size ?? 0, head, { account: null, recipients: [...summary.to, ...summary.cc, ...summary.bcc] }, now);
        adopted.push(record);
        this.records.set(record.id, record);
      }
      const ready =
        record.inFlight || record.state === 'send-ready' || (record.nextAttempt !== null && Date.parse(record.nextAttempt) <= now.getTime());
      if (ready) due.push({ record, path: file.path });
    }
    await this.log.append(adopted);
    return due.sort((a, b) => a.record.createdAt.localeCompare(b.record.createdAt) || a.record.id.localeCompare(b.record.id));
  }

  async waiting(): Promise<EmailRecord[]> {
    await this.refresh();
    return [...this.records.values()];
  }

  async begin(messages: QueuedMessage[], now: Date): Promise<void> {
    const iso = now.toISOString();
    const updates = messages.map((m) => {
      m.record = { ...m.record, attempts: m.record.attempts + 1, inFlight: iso, updatedAt: iso };
      return m.record;
    });
    await this.log.append(updates);
    for (const r of updates) this.records.set(r.id, r);
  }

  async place(message: QueuedMessage, outcome: Outcome, now: Date): Promise<Settled> {
    const base: EmailRecord = { ...message.record, inFlight: null, updatedAt: now.toISOString() };
    let record: EmailRecord;
    let gaveUp = false;
    switch (outcome.kind) {
      case 'sent':
        record = { ...base, state: 'sent', account: outcome.account, reply: outcome.reply, error: null, nextAttempt: null };
        break;
      case 'failed':
        record = { ...base, state: 'send-failed', error: outcome.error, nextAttempt: null };
        break;
      case 'ignored':
        record = { ...base, state: 'send-ignored', error: outcome.reason, nextAttempt: null };
        break;
      case 'untried':
        record = { ...base, attempts: Math.max(0, base.attempts - 1) };
        break;
      case 'retry': {
        const next = nextAttemptAt(base.attempts, now);
        gaveUp = next === null;
        record = next
          ? { ...base, state: 'send-retry-backoff', error: outcome.error, nextAttempt: next.toISOString() }
          : { ...base, state: 'send-failed', error: `gave up after ${base.attempts} attempts: ${outcome.error}`, nextAttempt: null };
        break;
      }
    }
    const box = boxOf(record);
    // The file moves first (a rename, at once: a message the server took leaves the outbox before
    // anything else can happen); a stop before its log line leaves a state recover() repairs.
    if (box !== 'outbox') await this.mail.move(message.record.file, 'outbox', box, message.path);
    return { record, gaveUp };
  }

  async commit(placed: Settled[]): Promise<void> {
    if (placed.length === 0) return;
    await this.mail.sync();
    await this.log.append(placed.map((s) => s.record));
    for (const { record } of placed) {
      if (OUTBOX_STATES.has(record.state)) this.records.set(record.id, record);
      else this.records.delete(record.id);
    }
  }

  async settle(results: Array<{ message: QueuedMessage; outcome: Outcome }>, now: Date): Promise<Settled[]> {
    const placed: Settled[] = [];
    for (const { message, outcome } of results) placed.push(await this.place(message, outcome, now));
    await this.commit(placed);
    return placed;
  }

  async requeue(id: string, now: Date): Promise<EmailRecord> {
    const all = await this.log.readAll();
    const record = all.get(id);
    if (!record) throw new MailboxError('ENOTFOUND', `no email with id ${id}`, { hint: 'mailbox emails lists the emails and their ids' });
    if (record.state !== 'send-failed' && record.state !== 'send-retry-backoff') {
      throw new MailboxError('EVALUE', `email ${id} is ${record.state}: only send-failed or send-retry-backoff messages can be retried`, {
        field: 'id',
      });
    }
    const iso = now.toISOString();
    const updated: EmailRecord = { ...record, state: 'send-ready', attempts: 0, nextAttempt: null, error: null, inFlight: null, updatedAt: iso };
    if (record.state === 'send-failed' && !(await this.mail.locate(record.file, 'failed'))) {
      throw new MailboxError('ENOTFOUND', `the file of email ${id} is no longer in ${this.mail.pathOf('failed', '')}`);
    }
    // Record first: a runner that sees the file in the outbox then also sees its record (with
    // the envelope). A stop in between leaves it failed, and the retry can simply be repeated.
    await this.log.append([updated]);
    if (record.state === 'send-failed') {
      await this.mail.move(record.file, 'failed', 'outbox');
      await this.mail.sync();
    }
    return updated;
  }
}
