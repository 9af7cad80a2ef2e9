// One read cycle of a POP3 maildrop. The seen state is the set of UIDLs stored, extended in the same
// store call that keeps a batch. Order of durability, always: the messages, their records and their
// UIDLs (one commit) -> DELE, committed by QUIT. A message the store holds already, whatever the seen
// state says, is not fetched again.
import type { Account } from '../core/account.js';
import type { Incoming, RemoteMessage } from '../protocols/types.js';
import { countDelivered, emptyResult, fetchAll, newDeliverer, removeStored, tooLargeNotes, type ReadDeps, type ReadOutcome } from './read-common.js';

export async function readPop3(incoming: Incoming, account: Account, deps: ReadDeps): Promise<ReadOutcome> {
  const result = emptyResult();
  const { seen } = deps.stores;
  const deleteMode = Boolean(account.deleteAfterDownload);
  const listed = await incoming.list();
  const known = await seen.pop3Seen(account.name);
  const meta = await seen.pop3Meta(account.name);
  const limit = account.maxMessageSize ?? Infinity;
  let toFetch: RemoteMessage[] = [];
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
  result.notes.push(...(await tooLargeNotes(incoming, account, result.tooLarge)));

  const held = toFetch.length ? await deps.stores.incoming.held(account.name, toFetch.map((m) => m.key)) : new Set<string>();
  if (held.size) {
    // Stored and recorded, but not in the seen state: recorded there now, before anything is deleted.
    await seen.addPop3Seen(account.name, [...held]);
    if (deleteMode) deletable.push(...toFetch.filter((m) => held.has(m.key)));
    result.duplicates += held.size;
    toFetch = toFetch.filter((m) => !held.has(m.key));
  }

  const fetched: RemoteMessage[] = [];
  const deliverer = newDeliverer(account, deps, {
    seenChange: (batch) => ({ pop3: batch.map((d) => d.remote.key) }),
    onCommitted: (batch) => fetched.push(...batch.map((d) => d.remote)),
  });
  try {
    await fetchAll(incoming, toFetch, deliverer, deps);
  } catch (err) {
    countDelivered(result, deliverer);
    return { result, failure: err };
  }
  countDelivered(result, deliverer);
  if (deleteMode && !deps.signal?.aborted) {
    const removal = await removeStored(incoming, [...deletable, ...fetched], result, deps);
    if (removal.failure !== undefined) return { result, failure: removal.failure };
  }
  // UIDLs no longer on the server can never come back: forget them (rarely, in one rewrite).
  if (known.size > present.size * 2 + 100) await seen.prunePop3Seen(account.name, present);
  return { result };
}
