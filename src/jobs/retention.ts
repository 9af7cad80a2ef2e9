// Retention: removing old mail for good, by hand (`mailbox emails prune`) or by the runner once a day
// (setting `retention`). The age of a message is the time it reached its state (updatedAt): a sent
// message ages from when it was sent. Queued and in-flight mail is never removed (the store refuses it).
import { BOXES, boxOf, type Box, type EmailState } from '../core/email.js';
import type { Retained } from '../core/settings.js';
import type { EmailRecord, Stores } from '../store/types.js';

/** One rule: messages in these boxes or states (none given: every box but the outbox) older than this. */
export interface PruneRule {
  olderThanMs: number;
  boxes?: readonly Box[];
  states?: readonly EmailState[];
}

export interface PruneResult {
  dryRun: boolean;
  /** The messages removed (or, for a dry run, that would be). */
  removed: EmailRecord[];
}

/** The age limit that applies to a record: its state's own rule first, else its box's. */
function limitFor(record: EmailRecord, rules: readonly PruneRule[]): number | undefined {
  const byState = rules.filter((r) => r.states?.includes(record.state));
  const byBox = rules.filter((r) => r.boxes?.includes(boxOf(record)) || (!r.boxes?.length && !r.states?.length && boxOf(record) !== 'outbox'));
  const chosen = byState.length ? byState : byBox;
  return chosen.length ? Math.min(...chosen.map((r) => r.olderThanMs)) : undefined;
}

/** The retention setting as rules: each key a box or a state. */
export function retentionRules(retention: Partial<Record<Retained, number>>): PruneRule[] {
  return Object.entries(retention).map(([key, ms]) => ((BOXES as readonly string[]).includes(key) ? { olderThanMs: ms!, boxes: [key as Box] } : { olderThanMs: ms!, states: [key as EmailState] }));
}

/** Removes what the rules say is too old (`also`: a further condition every message must meet). */
export async function prune(stores: Pick<Stores, 'log' | 'prune'>, rules: readonly PruneRule[], now: Date, dryRun = false, also?: (record: EmailRecord) => boolean): Promise<PruneResult> {
  const due: EmailRecord[] = [];
  for (const record of (await stores.log.readAll()).values()) {
    if (boxOf(record) === 'outbox' || record.inFlight || (also && !also(record))) continue;
    const limit = limitFor(record, rules);
    if (limit !== undefined && now.getTime() - Date.parse(record.updatedAt) > limit) due.push(record);
  }
  if (dryRun || due.length === 0) return { dryRun, removed: due };
  const removed = new Set(await stores.prune(due.map((r) => r.id)));
  return { dryRun, removed: due.filter((r) => removed.has(r.id)) };
}

/** "12 messages (sent 10, skipped 2)" */
export function describePruned(removed: readonly EmailRecord[]): string {
  const byBox = new Map<string, number>();
  for (const r of removed) byBox.set(boxOf(r), (byBox.get(boxOf(r)) ?? 0) + 1);
  const parts = [...byBox].map(([box, n]) => `${box} ${n}`);
  return `${removed.length} message${removed.length === 1 ? '' : 's'}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}
