// What every store decides the same way about hand-offs (issue 13): which records are due, and the
// record of a message put back to pending by `emails retry`.
import { MailboxError, shown } from '../core/errors.js';
import type { HandOffResult } from '../core/destination.js';
import { BACKOFF_MINUTES, nextAttemptAt, retryDue } from '../core/retry.js';
import type { EmailRecord, HandOff } from './types.js';

/** A record whose hand-off is not done yet (pending, or failed for good). */
export function handOffOpen(record: EmailRecord): boolean {
  return record.handoff !== undefined && record.handoff.state !== 'delivered';
}

/** Pending, and its retry time reached (or set by a clock that ran ahead: retryDue). */
export function handOffDue(record: EmailRecord, now: Date): boolean {
  const h = record.handoff;
  if (!h || h.state !== 'pending' || record.state !== 'received') return false;
  return h.nextAttempt === null || retryDue(h.nextAttempt, h.attempts, now);
}

/** A fresh pending hand-off to `dest`. */
export function pendingHandOff(dest: string): HandOff {
  return { dest, state: 'pending', attempts: 0, error: null, nextAttempt: null };
}

/** The record of a message whose hand-off is tried again now; refuses one that is not failed or waiting. */
export function handOffRetried(record: EmailRecord | undefined, id: string, now: Date): EmailRecord {
  if (!record) throw new MailboxError('ENOTFOUND', `no email with id ${shown(id)}`, { hint: 'mailbox emails lists the emails and their ids' });
  if (!record.handoff || record.handoff.state === 'delivered') {
    throw new MailboxError('EVALUE', `email ${id} is ${record.state}${record.handoff ? ', handed off already' : ''}: only delivery-failed messages (or those waiting to be handed off) can be retried`, { field: 'id' });
  }
  const iso = now.toISOString();
  return { ...record, state: 'received', error: null, handoff: { ...record.handoff, state: 'pending', attempts: 0, nextAttempt: null, error: null }, updatedAt: iso };
}

/** Counts of open hand-offs by account (lower case). */
export function handOffCounts(records: Iterable<EmailRecord>): Record<string, { pending: number; failed: number }> {
  const counts: Record<string, { pending: number; failed: number }> = {};
  for (const r of records) {
    if (!handOffOpen(r) || !r.account) continue;
    const c = (counts[r.account.toLowerCase()] ??= { pending: 0, failed: 0 });
    if (r.handoff!.state === 'failed') c.failed++;
    else c.pending++;
  }
  return counts;
}

/**
 * The message is stored already, so a hand-off that fails for now is not given up after the SMTP
 * schedule (about 6 hours: one night with the MDA or LMTP server down would fail every message):
 * after it, every 2 hours, for 5 days in all, as a sendmail queue keeps mail.
 */
const HANDOFF_LIFETIME_MINUTES = 5 * 24 * 60;
const LAST_STEP = Math.max(...BACKOFF_MINUTES);
const SCHEDULED = BACKOFF_MINUTES.reduce((a, b) => a + b, 0);
export const HANDOFF_MAX_ATTEMPTS = BACKOFF_MINUTES.length + Math.floor((HANDOFF_LIFETIME_MINUTES - SCHEDULED) / LAST_STEP) + 1;

function nextHandOffAt(attempts: number, now: Date): Date | null {
  if (attempts >= HANDOFF_MAX_ATTEMPTS) return null;
  return nextAttemptAt(attempts, now) ?? new Date(now.getTime() + LAST_STEP * 60_000);
}

/** What an attempt's result makes of the record: delivered; pending again after back-off (or failed once retries run out); or delivery-failed. */
export function handOffSettled(record: EmailRecord, result: Exclude<HandOffResult, { kind: 'stopped' }>, now: Date): EmailRecord {
  const iso = now.toISOString();
  const h = record.handoff!;
  const attempts = h.attempts + 1;
  if (result.kind === 'delivered') return { ...record, handoff: { ...h, state: 'delivered', attempts, error: null, nextAttempt: null }, updatedAt: iso };
  const next = result.kind === 'retry' ? nextHandOffAt(attempts, now) : null;
  if (next) return { ...record, handoff: { ...h, attempts, error: result.error, nextAttempt: next.toISOString() }, updatedAt: iso };
  const error = result.kind === 'retry' ? `gave up after ${attempts} attempts: ${result.error}` : result.error;
  return { ...record, state: 'delivery-failed', error: `hand-off to ${h.dest} failed: ${error}`, handoff: { ...h, state: 'failed', attempts, error, nextAttempt: null }, updatedAt: iso };
}
