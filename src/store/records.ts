// The email records every store writes: a message read from an account, a message queued to send.
import { pendingHandOff } from './handoff-rules.js';
import { summarize, type HeaderSummary } from './message-headers.js';
import type { EmailRecord } from './types.js';

/** The listing fields of a record, from the message's header block. */
function listed(summary: HeaderSummary): Pick<EmailRecord, 'date' | 'from' | 'to' | 'cc' | 'subject' | 'messageId'> {
  return { date: summary.date, from: summary.from, to: summary.to, cc: summary.cc, subject: summary.subject, messageId: summary.messageId };
}

/**
 * A message read from `account` (source: its id there), kept in the inbox, or in skipped with `reason`.
 * `dest`: the account's destination; a message kept in the inbox is to be handed off there (pending).
 * `folder`: the IMAP folder it was read from.
 */
export function receivedRecord(
  message: { id: string; size: number; file: string },
  summary: HeaderSummary,
  account: string,
  source: string,
  reason: string | null,
  now: Date,
  { dest, folder }: { dest?: string; folder?: string } = {},
): EmailRecord {
  const iso = now.toISOString();
  return {
    ...(folder !== undefined ? { folder } : {}),
    ...(dest && !reason ? { handoff: pendingHandOff(dest) } : {}),
    id: message.id,
    state: reason ? 'received-ignored' : 'received',
    account,
    ...listed(summary),
    size: message.size,
    attempts: 0,
    nextAttempt: null,
    error: reason,
    file: message.file,
    source,
    createdAt: iso,
    updatedAt: iso,
  };
}

/** A message queued to send (send-ready), its listing fields from its header block. */
export function outgoingRecord(
  message: { id: string; size: number; file: string },
  header: Buffer,
  outgoing: { account: string | null; recipients: string[] },
  now: Date,
): EmailRecord {
  const iso = now.toISOString();
  return {
    id: message.id,
    state: 'send-ready',
    account: outgoing.account,
    ...listed(summarize(header)),
    size: message.size,
    attempts: 0,
    nextAttempt: null,
    error: null,
    file: message.file,
    source: null,
    recipients: outgoing.recipients,
    reply: null,
    inFlight: null,
    createdAt: iso,
    updatedAt: iso,
  };
}
