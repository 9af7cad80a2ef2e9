// SMTP retry policy: 4xx replies and connection failures are retried with back-off, then fail.
export const BACKOFF_MINUTES = [1, 5, 10, 20, 40, 60, 120, 120] as const;

/** When to try again after `attempts` failed attempts, or null when the message has used all its retries. */
export function nextAttemptAt(attempts: number, now: Date): Date | null {
  const minutes = BACKOFF_MINUTES[attempts - 1];
  return minutes === undefined ? null : new Date(now.getTime() + minutes * 60_000);
}

export type SmtpFailureKind = 'permanent' | 'temporary';

/** 5xx is permanent; 4xx, no reply (connection lost, timeout) is temporary. */
export function classifySmtpFailure(responseCode: number | undefined): SmtpFailureKind {
  return responseCode !== undefined && responseCode >= 500 && responseCode < 600 ? 'permanent' : 'temporary';
}
