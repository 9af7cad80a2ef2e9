// What the IMAP and the POP3 reader share: the result of a cycle, their dependencies, and the fetch
// loop that feeds a Deliverer and commits a batch every so many messages or seconds.
import type { Account } from '../core/account.js';
import { MailboxError } from '../core/errors.js';
import type { AddressFilter } from '../core/filter.js';
import type { Incoming, RemoteMessage } from '../protocols/types.js';
import { summarize } from '../store/message-headers.js';
import type { Stores } from '../store/types.js';
import { Deliverer, type DelivererOptions, type InboundGuards } from './deliver.js';

/** Commit (bodies, records, seen state) after this many messages or this long, whichever comes first. */
const CHECKPOINT_MESSAGES = 1000;
const CHECKPOINT_MS = 2000;

export interface ReadResult {
  /** Stored in the inbox. */
  received: number;
  /** Stored in skipped: the sender is blocked by the inbound filter, or an inbound guard stopped it. */
  ignored: number;
  /** Bytes stored (received and ignored). */
  bytes: number;
  /** Already stored (recognised by source id, or by Message-ID after a UIDVALIDITY change): not stored again. */
  duplicates: number;
  /** Newly found over the maximum size: left on the server. */
  tooLarge: RemoteMessage[];
  /** All messages left on the server for their size. */
  leftTooLarge: number;
  deleted: number;
  /** Things the admin should know (UIDVALIDITY change, ...). */
  notes: string[];
}

/** A cycle's result, and the failure that cut it short after something may have been stored. */
export interface ReadOutcome {
  result: ReadResult;
  failure?: unknown;
}

/** Progress of a download: what is stored (committed: safe whatever happens next), what was fetched, of how many. */
export interface ReadProgress {
  stored: number;
  fetched: number;
  total: number;
}

export interface ReadDeps {
  stores: Pick<Stores, 'incoming' | 'seen' | 'log'>;
  filter?: AddressFilter;
  /** The inbound guards in effect (absent: none). */
  guards?: InboundGuards;
  clock: () => Date;
  /** Milliseconds from a clock that never jumps (for the checkpoint interval). */
  monotonic: () => number;
  /** Progress of a download, after each message fetched. */
  onProgress?: (progress: ReadProgress) => void;
  /** Stop asked for: finish the message in flight, commit, return. */
  signal?: AbortSignal;
  /**
   * The account has a destination (issue 13): hands off what is due and returns the source ids whose
   * hand-off is not done yet, which delete-after-download leaves on the server.
   */
  handOff?: () => Promise<ReadonlySet<string>>;
}

export function emptyResult(): ReadResult {
  return { received: 0, ignored: 0, bytes: 0, duplicates: 0, tooLarge: [], leftTooLarge: 0, deleted: 0, notes: [] };
}

export function newDeliverer(account: Account, deps: ReadDeps, options: Pick<DelivererOptions, 'isDuplicate' | 'seenChange' | 'onCommitted' | 'folder'>): Deliverer {
  return new Deliverer({ store: deps.stores.incoming, account, filter: deps.filter, guards: deps.guards, clock: deps.clock, ...options });
}

/** Fetches `messages` through a Deliverer, committing as it goes; stops early on `signal`. */
export async function fetchAll(incoming: Incoming, messages: RemoteMessage[], deliverer: Deliverer, deps: ReadDeps): Promise<void> {
  let lastCheckpoint = deps.monotonic();
  let fetched = 0;
  const stopped = new MailboxError('ETEMPFAIL', 'stopped');
  try {
    await incoming.fetch(messages, async (message, body) => {
      if (deps.signal?.aborted) throw stopped;
      await deliverer.add(message, body);
      deps.onProgress?.({ stored: deliverer.committed, fetched: ++fetched, total: messages.length });
      if (deliverer.pendingCount >= CHECKPOINT_MESSAGES || deps.monotonic() - lastCheckpoint >= CHECKPOINT_MS) {
        lastCheckpoint = deps.monotonic();
        deliverer.checkpoint().catch(() => undefined); // the failure stops the next add() and resurfaces in finish()
      }
    });
  } catch (err) {
    if (err !== stopped) {
      await deliverer.finish().catch(() => undefined);
      throw err;
    }
  }
  await deliverer.finish();
}

/** Newly found messages over the size limit whose sender and subject are asked for (a note each either way). */
const DESCRIBED_TOO_LARGE = 50;

/** "25.3 MB (26543210 bytes)". */
function sizeText(bytes: number): string {
  const [value, unit] = bytes >= 1024 ** 3 ? [bytes / 1024 ** 3, 'GB'] : bytes >= 1024 ** 2 ? [bytes / 1024 ** 2, 'MB'] : [bytes / 1024, 'KB'];
  return `${value.toFixed(1)} ${unit} (${bytes} bytes)`;
}

/**
 * A note for each message newly found over the account's size limit, naming what an admin knows it
 * by: sender, subject and size (the header is asked of the server, which keeps the message), and
 * its id there. Without the header (a POP3 server without TOP, a failure) the note still says the rest.
 */
export async function tooLargeNotes(incoming: Incoming, account: Account, messages: RemoteMessage[]): Promise<string[]> {
  if (messages.length === 0) return [];
  const headers = await incoming.headers(messages.slice(0, DESCRIBED_TOO_LARGE)).catch(() => new Map<number, Buffer>());
  const limit = account.maxMessageSize ?? 0;
  return messages.map((m) => {
    const header = headers.get(m.n);
    const summary = header ? summarize(header) : undefined;
    const what = summary
      ? `a message from ${summary.from ?? 'an unknown sender'}, subject ${summary.subject === null ? '(none)' : JSON.stringify(summary.subject)},`
      : 'a message';
    return `${what} ${sizeText(m.size)}, is over the maximum size of ${sizeText(limit)}: left on the server (id ${m.key})`;
  });
}

/** Fills the counts of what the deliverer committed into the result. */
export function countDelivered(result: ReadResult, deliverer: Deliverer): void {
  result.received = deliverer.counts.received;
  result.ignored = deliverer.counts.ignored;
  result.bytes = deliverer.bytes;
  result.duplicates += deliverer.counts.duplicate;
}

/**
 * Deletes stored messages from the server (the last step), but not those whose hand-off is not done
 * (they wait for it); returns the failure, if any, as a value, and whether some were left for that.
 */
export async function removeStored(incoming: Incoming, messages: RemoteMessage[], result: ReadResult, deps: Pick<ReadDeps, 'handOff'>): Promise<{ failure?: unknown; waiting: number }> {
  let removable = messages;
  if (deps.handOff) {
    const undelivered = await deps.handOff();
    removable = messages.filter((m) => !undelivered.has(m.key));
  }
  const waiting = messages.length - removable.length;
  try {
    if (removable.length) await incoming.remove(removable);
  } catch (err) {
    return { failure: err ?? new Error('remove failed'), waiting };
  }
  result.deleted = removable.length;
  if (waiting) result.notes.push(`${waiting} stored message(s) left on the server until their hand-off is done`);
  return { waiting };
}
