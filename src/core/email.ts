// Every email has a state; the views (boxes) are filters over those states.
export const EMAIL_STATES = [
  'received',
  'received-ignored',
  /** Received and stored, but its account's destination refused it for good (issue 13): in the failed box. */
  'delivery-failed',
  'send-ready',
  'sent',
  'send-ignored',
  'send-failed',
  'send-retry-backoff',
] as const;
export type EmailState = (typeof EMAIL_STATES)[number];

export const BOXES = ['inbox', 'outbox', 'sent', 'failed', 'skipped'] as const;
export type Box = (typeof BOXES)[number];

/** The Maildir folder each state's message lives in. */
export const BOX_OF_STATE: Record<EmailState, Box> = {
  received: 'inbox',
  'received-ignored': 'skipped',
  'delivery-failed': 'failed',
  'send-ready': 'outbox',
  'send-retry-backoff': 'outbox',
  sent: 'sent',
  'send-ignored': 'skipped',
  'send-failed': 'failed',
};

/** The box a message in this state is filed in. */
export function boxOf(message: { state: EmailState }): Box {
  return BOX_OF_STATE[message.state];
}

/** An RFC 5322 Date header value with a numeric zone: "Tue, 01 Dec 2026 18:40:00 +0000". */
export function messageDate(now: Date): string {
  return now.toUTCString().replace(/GMT$/, '+0000');
}
