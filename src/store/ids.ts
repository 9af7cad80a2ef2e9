// Ids of stored messages.
import { randomBytes } from 'node:crypto';

let counter = 0;
/** Random per process: ids of two processes writing in the same millisecond still differ. */
const processTag = randomBytes(4).readUInt32BE(0).toString(36).padStart(7, '0').slice(-5);

/**
 * A short id, unique across processes and ordered by creation time: base-36 milliseconds, a
 * per-process counter and a per-process random tag. It starts every file name, so `ls` sorts by
 * arrival, and `mailbox emails` lists newest first by it.
 */
export function newId(now = Date.now()): string {
  counter = (counter + 1) % 1296;
  return `${now.toString(36)}${counter.toString(36).padStart(2, '0')}${processTag}`;
}
