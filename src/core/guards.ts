// The inbound guards: mail that must never start a conversation with a machine (auto-replies, bounces,
// spam, our own mail come back) is kept as received-ignored with the guard that decided, as a blocked
// sender is. No I/O: the headers come from the message, "did we send this" from the caller.
import type { Guard } from './settings.js';

export interface GuardHeaders {
  messageId: string | null;
  autoSubmitted?: string;
  contentType?: string;
  spamFlag?: string;
}

export interface GuardVerdict {
  guard: Guard;
  reason: string;
}

/** RFC 3834: any value but "no" (case-insensitive, parameters aside) marks mail sent by a machine. */
function autoSubmitted(value: string | undefined): boolean {
  if (value === undefined) return false;
  const kind = value.split(';')[0]!.trim().toLowerCase();
  return kind !== '' && kind !== 'no';
}

/** RFC 3464: multipart/report with report-type=delivery-status (a bounce, or a delay notice). */
function deliveryStatus(value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.toLowerCase();
  return /^\s*multipart\/report\b/.test(v) && /report-type\s*=\s*"?delivery-status"?/.test(v);
}

/**
 * The first enabled guard that stops the message, or null. `sentByUs` says whether its Message-ID is
 * one this mailbox sent (the loop guard); asked only when the other guards let it pass.
 */
export function guardVerdict(headers: GuardHeaders, enabled: Record<Guard, boolean>, sentByUs: (messageId: string) => boolean): GuardVerdict | null {
  if (enabled['auto-submitted'] && autoSubmitted(headers.autoSubmitted)) {
    return { guard: 'auto-submitted', reason: `guard auto-submitted: an automatic message (Auto-Submitted: ${headers.autoSubmitted!.trim()})` };
  }
  if (enabled['delivery-status'] && deliveryStatus(headers.contentType)) {
    return { guard: 'delivery-status', reason: 'guard delivery-status: a delivery status report (a bounce)' };
  }
  if (enabled['spam-flag'] && headers.spamFlag?.trim().toUpperCase() === 'YES') {
    return { guard: 'spam-flag', reason: 'guard spam-flag: marked as spam (X-Spam-Flag: YES)' };
  }
  if (enabled.loop && headers.messageId && sentByUs(headers.messageId)) {
    return { guard: 'loop', reason: `guard loop: this mailbox sent Message-ID <${headers.messageId}> itself (mail came back)` };
  }
  return null;
}

/** The guard a skip reason names (`emails show` says which guard decided), or null. */
export function guardOf(reason: string | null): Guard | null {
  const match = reason ? /^guard ([a-z-]+):/.exec(reason) : null;
  return (match?.[1] as Guard | undefined) ?? null;
}
