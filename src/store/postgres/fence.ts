// The check a runner's writes make that it may still write. Now: the run lock is still held by this
// process (its session alive, or taken again after the database came back). With leases (a fleet),
// the lease's fencing number checked inside the write's own transaction.
import type { Client } from './connection.js';

export interface Fence {
  /** Throws (ELOCKED) when this process may no longer write; `client` is the write's transaction. */
  check(client?: Client): Promise<void>;
}

/** Commands that are not the runner (send, emails retry) write without a fence. */
export const NO_FENCE: Fence = { check: async () => undefined };
