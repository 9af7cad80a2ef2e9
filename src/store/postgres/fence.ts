// The check a runner's writes make that it may still write, inside the write's own transaction: the
// run lock's generation is still the one this process took (the row held FOR SHARE until the commit,
// so a new holder's take waits for the write to end, and every write after it is refused).
import type { Client } from './connection.js';

export interface Fence {
  /** Throws (ELOCKED) when this process may no longer write; `client` is the write's transaction. */
  check(client: Client): Promise<void>;
}

/** Commands that are not the runner (send, emails retry) write without a fence. */
export const NO_FENCE: Fence = { check: async () => undefined };
