// What every queue implementation decides the same way: which messages are due, what an outcome makes
// of a record, which messages can be put back in the queue.
import type { EmailState } from '../core/email.js';
import { MailboxError, shown } from '../core/errors.js';
import { nextAttemptAt, retryDue } from '../core/retry.js';
import type { EmailRecord, Outcome, Settled } from './types.js';

/** The states of a message waiting in the outbox. */
export const OUTBOX_STATES: ReadonlySet<EmailState> = new Set(['send-ready', 'send-retry-backoff']);

/** Ready, its retry time reached (or set by a clock that ran ahead: retryDue), or found in flight (an attempt a stop interrupted). */
export function isDue(record: EmailRecord, now: Date): boolean {
  return Boolean(record.inFlight) || record.state === 'send-ready' || (record.nextAttempt !== null && retryDue(record.nextAttempt, record.attempts, now));
}

/** Oldest first. */
export function queueOrder(a: EmailRecord, b: EmailRecord): number {
  return a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);
}

/** The record of a message claimed for an attempt. */
export function claimed(record: EmailRecord, now: Date): EmailRecord {
  const iso = now.toISOString();
  return { ...record, attempts: record.attempts + 1, inFlight: iso, updatedAt: iso };
}

/** The record after an attempt's outcome (a retry out of attempts fails). */
export function settled(record: EmailRecord, outcome: Outcome, now: Date): Settled {
  const delivery = 'delivery' in outcome && outcome.delivery ? { delivery: outcome.delivery } : {};
  const base: EmailRecord = { ...record, ...delivery, inFlight: null, updatedAt: now.toISOString() };
  switch (outcome.kind) {
    case 'sent':
      return { gaveUp: false, record: { ...base, state: 'sent', account: outcome.account, reply: outcome.reply, error: null, nextAttempt: null } };
    case 'failed':
      return { gaveUp: false, record: { ...base, state: 'send-failed', error: outcome.error, nextAttempt: null } };
    case 'ignored':
      return { gaveUp: false, record: { ...base, state: 'send-ignored', error: outcome.reason, nextAttempt: null } };
    case 'untried':
      return { gaveUp: false, record: { ...base, attempts: Math.max(0, base.attempts - 1) } };
    case 'retry': {
      const next = nextAttemptAt(base.attempts, now);
      if (next) return { gaveUp: false, record: { ...base, state: 'send-retry-backoff', error: outcome.error, nextAttempt: next.toISOString() } };
      return { gaveUp: true, record: { ...base, state: 'send-failed', error: `gave up after ${base.attempts} attempts: ${outcome.error}`, nextAttempt: null } };
    }
  }
}

/** The record of a message put back in the queue; refuses a message that is not failed or backing off. */
export function requeued(record: EmailRecord | undefined, id: string, now: Date): EmailRecord {
  if (!record) throw new MailboxError('ENOTFOUND', `no email with id ${shown(id)}`, { hint: 'mailbox emails lists the emails and their ids' });
  if (record.state !== 'send-failed' && record.state !== 'send-retry-backoff') {
    throw new MailboxError('EVALUE', `email ${id} is ${record.state}: only send-failed or send-retry-backoff messages can be retried`, {
      field: 'id',
    });
  }
  const iso = now.toISOString();
  return { ...record, state: 'send-ready', attempts: 0, nextAttempt: null, error: null, inFlight: null, updatedAt: iso };
}

/** Whether retention may remove a message: never one still queued (ready, backing off) or in flight. */
export function prunable(record: EmailRecord): boolean {
  return !OUTBOX_STATES.has(record.state) && !record.inFlight;
}
