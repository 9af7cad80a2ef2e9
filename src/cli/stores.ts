// The store for the commands that work with mail, the queue or the runner's state: opened lazily
// (commands that never touch mail do not load it), with this process's facts for the run lock; and
// the secret store, with the process control its password commands need.
import { destinationOpener } from '../jobs/destinations.js';
import { killGroup } from '../store/process-group.js';
import { createSecretStore, type CommandSecretStore } from '../store/secrets.js';
import type { Stores } from '../store/types.js';
import type { Context } from './context.js';
import type { Io } from './io.js';

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

/**
 * The secret store of a command. A password command runs in its own process group, out of reach of
 * the terminal's Ctrl-C: whatever way this process ends, its groups are killed. Its error output is
 * shown only on a terminal, never kept.
 */
export function cliSecretStore(io: Io): CommandSecretStore {
  let watching = false;
  const store = createSecretStore(io.env, {
    killGroup: (pgid) => process.kill(-pgid, 'SIGKILL'),
    stderr: io.stderr.isTTY ? (account, text) => io.stderr.write(`password command of ${account}, error output:\n${text.replace(/^/gm, '  ')}\n`) : undefined,
    started: () => {
      if (watching) return;
      watching = true;
      process.once('exit', () => store.stopCommands());
    },
  });
  return store;
}

/**
 * The destinations of received mail (issue 13), for `mailbox run`: MDA commands start from this
 * process's environment, in their own process groups, killed should this process end first.
 */
export function destinationsOf(env: NodeJS.ProcessEnv | (() => NodeJS.ProcessEnv)): ReturnType<typeof destinationOpener> {
  const opener = destinationOpener({
    env,
    host: {
      killGroup: (pgid) => process.kill(-pgid, 'SIGKILL'),
      started: () => {
        if (watching) return;
        watching = true;
        process.once('exit', () => {
          for (const pgid of opener.running) killGroup({ killGroup: (g) => process.kill(-g, 'SIGKILL') }, pgid);
        });
      },
    },
  });
  let watching = false;
  return opener;
}
