// The store for the commands that work with mail, the queue or the runner's state: opened lazily
// (commands that never touch mail do not load it), with this process's facts for the run lock.
import type { Stores } from '../store/types.js';
import type { Context } from './context.js';

/** Whether a process exists (EPERM: it exists but belongs to someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function openCommandStores(ctx: Context): Promise<Stores> {
  const { openStores } = await import('../store/open.js');
  return openStores(ctx.paths, { clock: ctx.now, pid: process.pid, isAlive });
}
