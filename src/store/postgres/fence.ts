// The check a worker's writes of an account's mail make that it still holds the account's lease,
// inside the write's own transaction: the lease row, held FOR SHARE until the commit, still names this
// worker and the fencing number it took (a take waits for the write to end, and every write after a
// take is refused). Outbound claims and staged bodies carry the worker instead (see queue.ts).
import type { Client } from './connection.js';

export interface Fence {
  /** Throws (ELOCKED) when this process may no longer write `account`'s mail; `client` is the write's transaction. */
  check(client: Client, account: string): Promise<void>;
  /** The worker this process runs as, once it started; null for commands that are not workers. */
  readonly worker: string | null;
}

