// One read cycle of an IMAP folder. The cursor (UIDVALIDITY, the highest UID handled, the UIDs handled
// beyond a gap, those left on the server for their size) moves only over what is committed, in the
// same store call as the messages. Order of durability, always: the messages, their records and the
// cursor (one commit) -> delete on the server. A message the store holds already, whatever the
// cursor says (a stop before it was written, a seen-state file moved away), is not fetched again.
import type { Account } from '../core/account.js';
import { foldersToRead, readsSeveral } from '../core/imap-folders.js';
import type { Incoming, RemoteMessage } from '../protocols/types.js';
import type { ImapCursor } from '../store/types.js';
import type { Delivered } from './deliver.js';
import { countDelivered, emptyResult, fetchAll, newDeliverer, removeStored, tooLargeNotes, type ReadDeps, type ReadOutcome, type ReadResult } from './read-common.js';

function maxSize(account: Account): number {
  return account.maxMessageSize ?? Infinity;
}

/**
 * The cursor moved over the handled prefix of `expected` (every UID above lastUid this cycle must
 * account for, ascending); handled UIDs beyond a gap are kept in `extra`. With `uidNext` (a complete
 * cycle) it moves to just below it once every expected UID is handled.
 */
export function advanced(cursor: ImapCursor, handled: ReadonlySet<number>, expected: readonly number[], uidNext?: number): ImapCursor {
  let last = cursor.lastUid;
  for (const uid of expected) {
    if (uid <= last) continue;
    if (!handled.has(uid)) break;
    last = uid;
  }
  if (uidNext !== undefined && expected.every((uid) => uid <= last)) last = Math.max(last, uidNext - 1);
  const extra = [...handled].filter((uid) => uid > last && !(String(uid) in cursor.tooLarge)).sort((a, b) => a - b);
  return { ...cursor, lastUid: last, extra };
}

async function knownMessages(deps: ReadDeps, account: string): Promise<Set<string>> {
  const known = new Set<string>();
  const name = account.toLowerCase();
  await deps.stores.log.scan((r) => {
    if (r.account?.toLowerCase() === name && r.source && r.messageId) known.add(`${r.messageId}\n${r.size}`);
  });
  return known;
}

/**
 * The folder's cursor, or a fresh one when there is none or the folder or its UIDVALIDITY changed (with
 * a note). `slot`: '' for the account's own folder (its one cursor from before several folders), else the folder.
 */
async function currentCursor(deps: ReadDeps, account: Account, folder: string, slot: string, uidValidity: number, notes: string[]): Promise<ImapCursor> {
  const cursor = await deps.stores.seen.imapCursor(account.name, slot);
  if (cursor && cursor.uidValidity === uidValidity && cursor.folder === folder) return cursor;
  const fresh: ImapCursor = { folder, uidValidity, lastUid: 0, tooLarge: {}, dedupe: false, pendingDelete: false, extra: [] };
  if (cursor && cursor.uidValidity !== 0) {
    const what = cursor.folder !== folder ? `the folder changed from ${cursor.folder} to ${folder}` : `UIDVALIDITY of ${folder} changed from ${cursor.uidValidity} to ${uidValidity}`;
    notes.push(`${what}: reading every message again; those already stored (same Message-ID and size) are not stored twice`);
    fresh.dedupe = true;
  }
  await deps.stores.seen.saveImapCursor(account.name, fresh, slot);
  return fresh;
}

/** What a cycle does with the listed messages; `handled` and `expected` move the cursor. */
interface Plan {
  toFetch: RemoteMessage[];
  /** Stored already: deleted from the server in delete mode. */
  deletable: RemoteMessage[];
  /** UIDs above lastUid handled: stored beyond a gap, or left on the server for their size. */
  handled: Set<number>;
  /** Every UID above lastUid listed, ascending. */
  expected: number[];
}

/** Sorts the listed messages; notes those newly over the size limit, forgets those gone from the server. */
function plan(listed: RemoteMessage[], cursor: ImapCursor, limit: number, result: ReadResult): Plan {
  const extra = new Set(cursor.extra);
  const toFetch: RemoteMessage[] = [];
  const deletable: RemoteMessage[] = [];
  const stillTooLarge: Record<string, number> = {};
  for (const m of listed) {
    const wasTooLarge = String(m.n) in cursor.tooLarge;
    const stored = !wasTooLarge && (m.n <= cursor.lastUid || extra.has(m.n));
    if (stored) deletable.push(m);
    else if (m.size > limit) {
      stillTooLarge[m.n] = m.size;
      if (!wasTooLarge) result.tooLarge.push(m);
    } else if (wasTooLarge || m.n > cursor.lastUid) toFetch.push(m);
  }
  cursor.tooLarge = Object.fromEntries(Object.entries(cursor.tooLarge).filter(([uid]) => uid in stillTooLarge).concat(Object.entries(stillTooLarge)));
  result.leftTooLarge = Object.keys(cursor.tooLarge).length;
  const handled = new Set([...extra, ...Object.keys(cursor.tooLarge).map(Number)]);
  const expected = listed.filter((m) => m.n > cursor.lastUid).map((m) => m.n);
  return { toFetch, deletable, handled, expected };
}

/** Messages the store holds although the cursor does not say so (a stop, a lost seen state): handled, not fetched. */
async function skipHeld(deps: ReadDeps, account: Account, p: Plan, cursor: ImapCursor, result: ReadResult): Promise<void> {
  if (p.toFetch.length === 0) return;
  const held = await deps.stores.incoming.held(account.name, p.toFetch.map((m) => m.key));
  if (held.size === 0) return;
  for (const m of p.toFetch) {
    if (!held.has(m.key)) continue;
    p.handled.add(m.n);
    delete cursor.tooLarge[m.n];
    p.deletable.push(m);
  }
  result.duplicates += held.size;
  p.toFetch = p.toFetch.filter((m) => !held.has(m.key));
}

/**
 * One read cycle of an IMAP account: its one folder, or (issue 13) every folder it names or whose
 * pattern the server's folders match, one after the other on the same session, each with its own
 * cursor. A folder named that the server no longer has is reported and the others are read.
 */
export async function readImap(incoming: Incoming, account: Account, deps: ReadDeps): Promise<ReadOutcome> {
  const own = account.folder ?? 'INBOX';
  if (!readsSeveral(account) || !incoming.folders || !incoming.inFolder) return readImapFolder(incoming, account, own, deps);
  const listed = await incoming.folders();
  const result = emptyResult();
  const names = new Set(listed.map((l) => l.name));
  const toRead = foldersToRead(account, listed);
  // Folders read last cycle (kept with the own folder's cursor) that the server no longer lists.
  const before = (await deps.stores.seen.imapCursor(account.name))?.folders ?? [];
  for (const gone of before.filter((f) => !names.has(f) && !toRead.includes(f))) {
    result.notes.push(`folder ${gone} is not on the server any more: it is no longer read; its seen state is kept`);
  }
  for (const folder of toRead) {
    if (deps.signal?.aborted) break;
    if (!names.has(folder)) {
      result.notes.push(`folder ${folder} is not on the server (any more): it is left out; its seen state is kept`);
      continue;
    }
    const { result: r, failure } = await readImapFolder(folder === own ? incoming.inFolder(own) : incoming.inFolder(folder), account, folder, deps);
    addResult(result, r, folder);
    if (failure !== undefined) return { result, failure };
  }
  const read = toRead.filter((f) => names.has(f));
  const ownCursor = await deps.stores.seen.imapCursor(account.name);
  if (!deps.signal?.aborted && JSON.stringify(ownCursor?.folders ?? []) !== JSON.stringify(read)) {
    // Without a cursor of its own folder yet (not among those read), one that knows no message.
    const base: ImapCursor = ownCursor ?? { folder: own, uidValidity: 0, lastUid: 0, extra: [], tooLarge: {}, dedupe: false, pendingDelete: false };
    await deps.stores.seen.saveImapCursor(account.name, { ...base, folders: read });
  }
  return { result };
}

/** Adds one folder's result to the account's; notes name the folder. */
function addResult(into: ReadResult, r: ReadResult, folder: string): void {
  into.received += r.received;
  into.ignored += r.ignored;
  into.duplicates += r.duplicates;
  into.bytes += r.bytes;
  into.tooLarge.push(...r.tooLarge);
  into.leftTooLarge += r.leftTooLarge;
  into.deleted += r.deleted;
  into.notes.push(...r.notes.map((n) => `${folder}: ${n}`));
}

async function readImapFolder(incoming: Incoming, account: Account, folder: string, deps: ReadDeps): Promise<ReadOutcome> {
  const result = emptyResult();
  const { seen } = deps.stores;
  const deleteMode = Boolean(account.deleteAfterDownload);
  const slot = folder === (account.folder ?? 'INBOX') ? '' : folder;
  const status = await incoming.status();
  let cursor = await currentCursor(deps, account, folder, slot, status.uidValidity ?? 0, result.notes);
  const limit = maxSize(account);
  const refetch = Object.values(cursor.tooLarge).some((size) => size <= limit);
  const left = Object.keys(cursor.tooLarge).length;
  const nothingNew = (status.uidNext ?? 0) <= cursor.lastUid + 1;
  const undeleted = deleteMode && (cursor.pendingDelete || status.count > left);
  if (nothingNew && !refetch && !undeleted) {
    result.leftTooLarge = left;
    return { result };
  }

  const p = plan(await incoming.list(undeleted || refetch ? 1 : cursor.lastUid + 1, limit), cursor, limit, result);
  result.notes.push(...(await tooLargeNotes(incoming, account, result.tooLarge)));
  await skipHeld(deps, account, p, cursor, result);
  const known = cursor.dedupe ? await knownMessages(deps, account.name) : undefined;
  const fetched: RemoteMessage[] = [];
  // The cursor a batch makes, committed with it; adopted once the commit is done.
  let committing: ImapCursor | undefined;
  const withBatch = (batch: Delivered[]): ImapCursor => {
    const uids = new Set(batch.map((d) => d.remote.n));
    const tooLarge = { ...cursor.tooLarge };
    for (const uid of uids) delete tooLarge[uid];
    return advanced({ ...cursor, tooLarge, pendingDelete: cursor.pendingDelete || deleteMode }, new Set([...p.handled, ...uids]), p.expected);
  };
  const deliverer = newDeliverer(account, deps, {
    folder,
    isDuplicate: known ? (id, size) => id !== null && known.has(`${id}\n${size}`) : undefined,
    seenChange: (batch) => ({ imap: (committing = withBatch(batch)), ...(slot ? { slot } : {}) }),
    onCommitted: (batch) => {
      cursor = committing!;
      for (const d of batch) {
        p.handled.add(d.remote.n);
        fetched.push(d.remote);
      }
    },
  });
  let failure: unknown;
  try {
    await fetchAll(incoming, p.toFetch, deliverer, deps);
  } catch (err) {
    failure = err;
  }
  const complete = failure === undefined && !deps.signal?.aborted;
  cursor = advanced(cursor, p.handled, p.expected, complete ? status.uidNext : undefined);
  if (complete && cursor.dedupe && p.toFetch.every((m) => m.n <= cursor.lastUid)) cursor.dedupe = false;
  await seen.saveImapCursor(account.name, cursor, slot);
  countDelivered(result, deliverer);
  if (failure !== undefined) return { result, failure };

  if (deleteMode && !deps.signal?.aborted) {
    const removal = await removeStored(incoming, [...p.deletable, ...fetched], result, deps);
    if (removal.failure !== undefined) return { result, failure: removal.failure };
    if (removal.waiting === 0) {
      cursor.pendingDelete = false;
      await seen.saveImapCursor(account.name, cursor, slot);
    }
  }
  return { result };
}
