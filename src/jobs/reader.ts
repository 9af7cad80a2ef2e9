// The reader: one cycle for one incoming account. Order of durability, always:
//   message file (tmp, fsync, rename)  ->  email log  ->  seen state  ->  delete on the server.
// A stop anywhere loses nothing; a message stored but not yet seen is recognised by the source id
// in its file name (recover.ts) and not stored twice.
import type { Account } from '../core/account.js';
import { MailboxError } from '../core/errors.js';
import type { AddressFilter } from '../core/filter.js';
import type { Stores } from '../store/local-store.js';
import type { ImapCursor } from '../store/seen-state.js';
import type { Incoming, IncomingStatus, RemoteMessage } from '../protocols/types.js';
import { Deliverer, type Delivered, type DelivererOptions } from './deliver.js';

/** Checkpoint (log + seen state) after this many messages or this long, whichever comes first. */
const CHECKPOINT_MESSAGES = 1000;
const CHECKPOINT_MS = 2000;

export interface ReadResult {
  /** Stored in the inbox. */
  received: number;
  /** Stored in skipped: the sender is blocked by the inbound filter. */
  ignored: number;
  /** Already stored (recognised after a UIDVALIDITY change): not stored again. */
  duplicates: number;
  /** Newly found over the maximum size: left on the server. */
  tooLarge: RemoteMessage[];
  /** All messages left on the server for their size. */
  leftTooLarge: number;
  deleted: number;
  /** Things the admin should know (UIDVALIDITY change, ...). */
  notes: string[];
}

export interface ReadDeps {
  stores: Stores;
  filter?: AddressFilter;
  clock: () => Date;
  /** Progress of a large download: messages and bytes done of the total planned. */
  onProgress?: (done: number, total: number) => void;
  /** Stop asked for: finish the message in flight, commit, return. */
  signal?: AbortSignal;
}

function emptyResult(): ReadResult {
  return { received: 0, ignored: 0, duplicates: 0, tooLarge: [], leftTooLarge: 0, deleted: 0, notes: [] };
}

/** Fetches `messages` through a Deliverer, checkpointing as it goes; stops early on `signal`. */
async function fetchAll(incoming: Incoming, messages: RemoteMessage[], deliverer: Deliverer, deps: ReadDeps): Promise<void> {
  let lastCheckpoint = Date.now();
  let done = 0;
  const stopped = new MailboxError('ETEMPFAIL', 'stopped');
  try {
    await incoming.fetch(messages, async (message, body) => {
      if (deps.signal?.aborted) throw stopped;
      await deliverer.add(message, body);
      deps.onProgress?.(++done, messages.length);
      if (deliverer.pendingCount >= CHECKPOINT_MESSAGES || Date.now() - lastCheckpoint >= CHECKPOINT_MS) {
        lastCheckpoint = Date.now();
        deliverer.checkpoint().catch(() => undefined); // the failure resurfaces in finish()
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

function newDeliverer(account: Account, deps: ReadDeps, options: Pick<DelivererOptions, 'isDuplicate' | 'onCommitted'>): Deliverer {
  return new Deliverer({ store: deps.stores.mail, log: deps.stores.log, account, filter: deps.filter, clock: deps.clock, ...options });
}

function maxSize(account: Account): number {
  return account.maxMessageSize ?? Infinity;
}

/** Tracks which UIDs above the cursor are handled, so lastUid only moves over a complete prefix. */
class UidProgress {
  private readonly handled = new Set<number>();
  constructor(
    private readonly cursor: ImapCursor,
    /** Every UID above lastUid this cycle must account for, ascending. */
    private readonly expected: number[],
  ) {
    for (const uid of cursor.extra ?? []) this.handled.add(uid);
    for (const uid of Object.keys(cursor.tooLarge)) this.handled.add(Number(uid));
  }

  mark(uid: number): void {
    this.handled.add(uid);
  }

  /** Moves lastUid over the handled prefix; handled UIDs beyond a gap are kept in `extra`. */
  advance(complete: boolean, uidNext?: number): void {
    let last = this.cursor.lastUid;
    for (const uid of this.expected) {
      if (uid <= last) continue;
      if (!this.handled.has(uid)) break;
      last = uid;
    }
    const allDone = this.expected.every((uid) => uid <= last);
    if (complete && allDone && uidNext !== undefined) last = Math.max(last, uidNext - 1);
    this.cursor.lastUid = last;
    this.cursor.extra = [...this.handled].filter((uid) => uid > last && !(String(uid) in this.cursor.tooLarge)).sort((a, b) => a - b);
  }
}

async function knownMessages(deps: ReadDeps, account: string): Promise<Set<string>> {
  const known = new Set<string>();
  const name = account.toLowerCase();
  await deps.stores.log.scan((r) => {
    if (r.account?.toLowerCase() === name && r.source && r.messageId) known.add(`${r.messageId}\n${r.size}`);
  });
  return known;
}

export async function readImap(incoming: Incoming, account: Account, deps: ReadDeps): Promise<ReadResult> {
  const result = emptyResult();
  const { seen } = deps.stores;
  const folder = account.folder ?? 'INBOX';
  const deleteMode = Boolean(account.deleteAfterDownload);
  const status: IncomingStatus = await incoming.status();
  const uidValidity = status.uidValidity ?? 0;
  let cursor = await seen.imapCursor(account.name);
  if (!cursor || cursor.uidValidity !== uidValidity || cursor.folder !== folder) {
    const fresh: ImapCursor = { folder, uidValidity, lastUid: 0, tooLarge: {}, dedupe: false, pendingDelete: false, extra: [] };
    if (cursor && cursor.uidValidity !== 0) {
      const what = cursor.folder !== folder ? `the folder changed from ${cursor.folder} to ${folder}` : `UIDVALIDITY of ${folder} changed from ${cursor.uidValidity} to ${uidValidity}`;
      result.notes.push(`${what}: reading every message again; those already stored (same Message-ID and size) are not stored twice`);
      fresh.dedupe = true;
    }
    cursor = fresh;
    await seen.saveImapCursor(account.name, cursor);
  }
  const limit = maxSize(account);
  const refetch = Object.values(cursor.tooLarge).some((size) => size <= limit);
  const left = Object.keys(cursor.tooLarge).length;
  const nothingNew = (status.uidNext ?? 0) <= cursor.lastUid + 1;
  const undeleted = deleteMode && (cursor.pendingDelete || status.count > left);
  if (nothingNew && !refetch && !undeleted) {
    result.leftTooLarge = left;
    return result;
  }

  const from = undeleted || refetch ? 1 : cursor.lastUid + 1;
  const listed = await incoming.list(from, limit);
  const extra = new Set(cursor.extra ?? []);
  const toFetch: RemoteMessage[] = [];
  const deletable: RemoteMessage[] = [];
  const stillTooLarge: Record<string, number> = {};
  for (const m of listed) {
    const wasTooLarge = String(m.n) in cursor.tooLarge;
    const stored = !wasTooLarge && (m.n <= cursor.lastUid || extra.has(m.n));
    if (stored) {
      if (deleteMode) deletable.push(m);
    } else if (m.size > limit) {
      stillTooLarge[m.n] = m.size;
      if (!wasTooLarge) result.tooLarge.push(m);
    } else if (wasTooLarge || m.n > cursor.lastUid) {
      toFetch.push(m);
    }
  }
  // Sizes of messages still listed; those gone from the server are forgotten.
  cursor.tooLarge = Object.fromEntries(Object.entries(cursor.tooLarge).filter(([uid]) => uid in stillTooLarge).concat(Object.entries(stillTooLarge)));
  result.leftTooLarge = Object.keys(cursor.tooLarge).length;

  const progress = new UidProgress(
    cursor,
    listed.filter((m) => m.n > cursor!.lastUid).map((m) => m.n),
  );
  const known = cursor.dedupe ? await knownMessages(deps, account.name) : undefined;
  const fetched: RemoteMessage[] = [];
  const deliverer = newDeliverer(account, deps, {
    isDuplicate: known ? (id, size) => id !== null && known.has(`${id}\n${size}`) : undefined,
    onCommitted: async (batch: Delivered[]) => {
      for (const d of batch) {
        progress.mark(d.remote.n);
        delete cursor!.tooLarge[d.remote.n];
        fetched.push(d.remote);
      }
      progress.advance(false);
      if (deleteMode) cursor!.pendingDelete = true;
      await seen.saveImapCursor(account.name, cursor!);
    },
  });
  let failure: unknown;
  try {
    await fetchAll(incoming, toFetch, deliverer, deps);
  } catch (err) {
    failure = err;
  }
  const complete = failure === undefined && !deps.signal?.aborted;
  progress.advance(complete, status.uidNext);
  if (complete && cursor.dedupe && toFetch.every((m) => m.n <= cursor!.lastUid)) cursor.dedupe = false;
  await seen.saveImapCursor(account.name, cursor);
  result.received = deliverer.counts.received;
  result.ignored = deliverer.counts.ignored;
  result.duplicates = deliverer.counts.duplicate;
  if (failure !== undefined) throw Object.assign(failure as object, { partial: result });

  if (deleteMode && !deps.signal?.aborted) {
    const remove = [...deletable, ...fetched];
    await incoming.remove(remove);
    result.deleted = remove.length;
    cursor.pendingDelete = false;
    await seen.saveImapCursor(account.name, cursor);
  }
  return result;
}

export async function readPop3(incoming: Incoming, account: Account, deps: ReadDeps): Promise<ReadResult> {
  const result = emptyResult();
  const { seen } = deps.stores;
  const deleteMode = Boolean(account.deleteAfterDownload);
  const listed = await incoming.list();
  const known = await seen.pop3Seen(account.name);
  const meta = await seen.pop3Meta(account.name);
  const limit = maxSize(account);
  const toFetch: RemoteMessage[] = [];
  const deletable: RemoteMessage[] = [];
  const tooLarge: Record<string, number> = {};
  const present = new Set<string>();
  for (const m of listed) {
    if (present.has(m.key)) continue; // a server listing one UIDL twice: take the first
    present.add(m.key);
    if (known.has(m.key)) {
      if (deleteMode) deletable.push(m);
    } else if (m.size > limit) {
      tooLarge[m.key] = m.size;
      if (!(m.key in meta.tooLarge)) result.tooLarge.push(m);
    } else {
      toFetch.push(m);
    }
  }
  if (JSON.stringify(tooLarge) !== JSON.stringify(meta.tooLarge)) await seen.savePop3Meta(account.name, { tooLarge });
  result.leftTooLarge = Object.keys(tooLarge).length;

  const fetched: RemoteMessage[] = [];
  const deliverer = newDeliverer(account, deps, {
    onCommitted: async (batch: Delivered[]) => {
      await seen.addPop3Seen(
        account.name,
        batch.map((d) => d.remote.key),
      );
      fetched.push(...batch.map((d) => d.remote));
    },
  });
  try {
    await fetchAll(incoming, toFetch, deliverer, deps);
  } catch (err) {
    result.received = deliverer.counts.received;
    result.ignored = deliverer.counts.ignored;
    throw Object.assign(err as object, { partial: result });
  }
  result.received = deliverer.counts.received;
  result.ignored = deliverer.counts.ignored;
  if (deleteMode && !deps.signal?.aborted) {
    const remove = [...deletable, ...fetched];
    await incoming.remove(remove);
    result.deleted = remove.length;
  }
  // UIDLs no longer on the server can never come back: forget them (rarely, in one rewrite).
  if (known.size > present.size * 2 + 100) await seen.prunePop3Seen(account.name, present);
  return result;
}
