// The hand-off (issue 13): received messages, stored and recorded as seen, handed on to their account's
// destination (another Maildir, an MDA command, an LMTP server). It runs after the cycle's download and
// again at every cycle for what is due: a temporary failure is retried with back-off (the message is
// never fetched again for it), a refusal marks the email delivery-failed, and a stop before or during
// a hand-off leaves it pending, to be handed off at the next cycle (at least once, never zero times;
// the source id tells the destination a repeat).
import type { Account } from '../core/account.js';
import { parseDestination, type Destination, type HandOffEnvelope, type HandOffTarget } from '../core/destination.js';
import { handOffSettled } from '../store/handoff-rules.js';
import type { EmailRecord, Stores } from '../store/types.js';

/** Opens a destination; built at the edge (jobs/destinations.ts), swapped in tests. */
export type OpenTarget = (destination: Destination) => HandOffTarget;

export interface HandOffDeps {
  stores: Pick<Stores, 'handoffs' | 'mail'>;
  open: OpenTarget;
  clock: () => Date;
  signal?: AbortSignal;
}

export interface HandOffSummary {
  delivered: number;
  /** Refused for now: tried again later. */
  retrying: number;
  /** Refused for good (or out of retries): delivery-failed. */
  failed: number;
  /** One per message not delivered, with the reason. */
  notes: string[];
}

export function emptyHandOff(): HandOffSummary {
  return { delivered: 0, retrying: 0, failed: 0, notes: [] };
}

/** The hand-off's facts; the source id is the account and the message's id there (stable across retries). */
function envelopeOf(account: Account, record: EmailRecord): HandOffEnvelope {
  return {
    account: account.name,
    emailId: record.id,
    sourceId: `${account.name}/${record.source ?? record.id}`,
    folder: record.folder ?? (account.type === 'imap' ? (account.folder ?? 'INBOX') : null),
    from: record.from,
    recipient: account.deliverTo ?? account.user ?? '',
  };
}

/** Outcomes are recorded this many at a time, or after this long, whichever comes first (and at the end). */
const SETTLE_BATCH = 64;
const SETTLE_MS = 1000;
/** Hand-offs under way at once, each on its own connection or command (a destination delivers in parallel). */
const PARALLEL = 4;

/**
 * Hands off every message of `account` that is due now, a few at once; stops early on the signal.
 * Outcomes are recorded in batches: a stop before a batch is recorded hands its messages off again at
 * the next cycle (at least once), never loses one.
 */
export async function handOffDue(account: Account, deps: HandOffDeps): Promise<HandOffSummary> {
  const summary = emptyHandOff();
  if (!account.deliver) return summary;
  const due = await deps.stores.handoffs.due(account.name, deps.clock());
  if (due.length === 0) return summary;
  const destination = parseDestination(account.deliver);
  let settled: EmailRecord[] = [];
  let since = deps.clock().getTime();
  // One write at a time, in the order the outcomes came.
  let writing: Promise<void> = Promise.resolve();
  const flush = () => {
    const batch = settled;
    settled = [];
    since = deps.clock().getTime();
    writing = writing.then(() => deps.stores.handoffs.settle(batch));
    return writing;
  };
  let next = 0;
  let stopped = false;
  const worker = async () => {
    const target = deps.open(destination);
    try {
      while (!stopped && !deps.signal?.aborted && next < due.length) {
        const record = due[next++]!;
        const content = await deps.stores.mail.read(record);
        const result = content
          ? await target.deliver(content, envelopeOf(account, record), deps.signal)
          : ({ kind: 'failed', error: 'the message file is missing from the store' } as const);
        if (result.kind === 'stopped') {
          content?.destroy();
          stopped = true;
          break;
        }
        const after = handOffSettled(record, result, deps.clock());
        settled.push(after);
        if (result.kind === 'delivered') summary.delivered++;
        else if (after.state === 'delivery-failed') {
          summary.failed++;
          summary.notes.push(`email ${record.id}: ${after.error} (mailbox emails retry ${record.id} tries again)`);
        } else {
          summary.retrying++;
          summary.notes.push(`email ${record.id}: hand-off to ${account.deliver} to be retried at ${after.handoff!.nextAttempt}: ${after.handoff!.error}`);
        }
        if (settled.length >= SETTLE_BATCH || deps.clock().getTime() - since >= SETTLE_MS) await flush();
      }
    } finally {
      await target.close().catch(() => undefined);
    }
  };
  const workers = await Promise.allSettled(Array.from({ length: Math.min(PARALLEL, due.length) }, worker));
  await flush();
  const failure = workers.find((w) => w.status === 'rejected');
  if (failure) throw (failure as PromiseRejectedResult).reason;
  return summary;
}
