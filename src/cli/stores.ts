// The store of a command, chosen once from --database / MAILBOX_DATABASE_URL (else the local files)
// and opened lazily (commands that never touch mail do not load it), with this process's facts for
// the run lock. The context takes its config store from here; action() closes it when the command ends.
// And the secret store, with the process control its password commands need.
import { destinationOpener } from '../jobs/destinations.js';
import type { LookupFn } from '../protocols/net/socket.js';
import { ConfigStore } from '../store/config-store.js';
import type { Paths } from '../store/paths.js';
import { killGroup } from '../store/process-group.js';
import { createSecretStore, type CommandSecretStore } from '../store/secrets.js';
import type { ConfigStorage, Stores } from '../store/types.js';
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

export interface CommandStore {
  /** The database URL, or undefined for the local files. */
  readonly database: string | undefined;
  /** Accounts, filters and settings. */
  readonly config: ConfigStorage;
  /** Everything else (mail, the queue, the runner's state), opened on first use. */
  open(): Promise<Stores>;
  /** Lets go of what was opened (a database's connections); safe to call twice. */
  close(): Promise<void>;
}

export function commandStore(paths: Paths, database: string | undefined, now: () => Date): CommandStore {
  let opened: Promise<Stores> | undefined;
  const open = () =>
    (opened ??= import('../store/open.js').then(({ openStores }) => openStores(paths, { clock: now, pid: process.pid, isAlive, database })));
  // The local config is a file read by itself; the database's comes with the opened store.
  const config: ConfigStorage = database
    ? { load: async () => (await open()).config.load(), update: async (change) => (await open()).config.update(change) }
    : new ConfigStore(paths.configFile);
  return {
    database,
    config,
    open,
    async close() {
      const stores = opened;
      opened = undefined;
      if (stores) await (await stores.catch(() => undefined))?.close();
    },
  };
}

export function openCommandStores(ctx: Context): Promise<Stores> {
  return ctx.store.open();
}

/**
 * The secret store of a command. A password command runs in its own process group, out of reach of
 * the terminal's Ctrl-C: whatever way this process ends, its groups are killed. Its error output is
 * shown only on a terminal, never kept.
 */
export function cliSecretStore(io: Io): CommandSecretStore {
  const store = createSecretStore(io.env, {
    killGroup: KILL_GROUP.killGroup,
    stderr: io.stderr.isTTY ? (account, text) => io.stderr.write(`password command of ${account}, error output:\n${text.replace(/^/gm, '  ')}\n`) : undefined,
    started: onExitOnce(() => store.stopCommands()),
  });
  return store;
}

/** Process groups of commands this process started are ended with SIGKILL. */
const KILL_GROUP = { killGroup: (pgid: number) => process.kill(-pgid, 'SIGKILL') };

/** A `started` callback that, the first time it is called, arranges for `atExit` to run when this process exits. */
function onExitOnce(atExit: () => void): () => void {
  let watching = false;
  return () => {
    if (watching) return;
    watching = true;
    process.once('exit', atExit);
  };
}

/**
 * The destinations of received mail (issue 13), for `mailbox run`: MDA commands start from this
 * process's environment, in their own process groups, killed should this process end first; an LMTP
 * host name resolves through `lookup` (MAILBOX_DNS_SERVERS) when given.
 */
export function destinationsOf(env: NodeJS.ProcessEnv | (() => NodeJS.ProcessEnv), lookup?: LookupFn): ReturnType<typeof destinationOpener> {
  const opener = destinationOpener({
    env,
    lookup,
    host: {
      ...KILL_GROUP,
      started: onExitOnce(() => {
        for (const pgid of opener.running) killGroup(KILL_GROUP, pgid);
      }),
    },
  });
  return opener;
}
