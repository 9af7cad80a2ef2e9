// SMTP retry policy: 4xx replies and connection failures are retried with back-off, then fail.
export const BACKOFF_MINUTES = [1, 5, 10, 20, 40, 60, 120, 120] as const;

/** When to try again after `attempts` failed attempts, or null when the message has used all its retries. */
export function nextAttemptAt(attempts: number, now: Date): Date | null {
  const minutes = BACKOFF_MINUTES[attempts - 1];
  return minutes === undefined ? null : new Date(now.getTime() + minutes * 60_000);
}

const LONGEST_MINUTES = Math.max(...BACKOFF_MINUTES);

/** A wall clock set back by less than this is not worth an early retry (NTP slews by milliseconds). */
export const JUMP_TOLERANCE_MS = 60_000;

/**
 * Whether a retry scheduled for `nextAttempt` (ISO) after `attempts` attempts is due `now`. A retry is
 * never further ahead than its back-off step; one that is was scheduled while the wall clock ran ahead
 * (and has been set back since): it is due at once, rather than wait out the jump (a day's jump would
 * hold the message a day), and its next retry is scheduled by the corrected clock. An unreadable
 * time is due too: a message is never stuck in the outbox by its record.
 */
export function retryDue(nextAttempt: string, attempts: number, now: Date): boolean {
  const at = Date.parse(nextAttempt);
  if (Number.isNaN(at) || at <= now.getTime()) return true;
  const step = (BACKOFF_MINUTES[Math.max(0, attempts - 1)] ?? LONGEST_MINUTES) * 60_000;
  return at - now.getTime() > step + JUMP_TOLERANCE_MS;
}
