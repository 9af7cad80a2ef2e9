// SMTP retry policy: 4xx replies and connection failures are retried with back-off, then fail.
export const BACKOFF_MINUTES = [1, 5, 10, 20, 40, 60, 120, 120] as const;

/** When to try again after `attempts` failed attempts, or null when the message has used all its retries. */
export function nextAttemptAt(attempts: number, now: Date): Date | null {
  const minutes = BACKOFF_MINUTES[attempts - 1];
  return minutes === undefined ? null : new Date(now.getTime() + minutes * 60_000);
}
