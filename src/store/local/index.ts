// The embedded store, all files under the data folders: config.json, Maildir boxes, the email log,
// the seen state, the queue, the runner's lock and status. Everything above it sees the interfaces.
import path from 'node:path';
import { ConfigStore } from '../config-store.js';
import type { Paths } from '../paths.js';
import type { IncomingAccount, StoreOptions, Stores } from '../types.js';
import { FileEmailLog } from './email-log.js';
import { LocalIncoming } from './incoming.js';
import { MailFiles } from './mail-files.js';
import { LocalQueue } from './queue.js';
import { FileRunLock } from './run-lock.js';
import { FileRunStatus } from './run-status.js';
import { FileSeenState } from './seen-state.js';

/** Partial files in tmp/ older than this are left by a stop; younger ones may be a `mailbox send` at work. */
const OUTBOX_TMP_AGE_MS = 3_600_000;

export function openLocalStores(paths: Paths, options: StoreOptions): Stores {
  const files = new MailFiles(paths.mailDir);
  const log = new FileEmailLog(path.join(paths.stateDir, 'emails.jsonl'));
  const seen = new FileSeenState(path.join(paths.stateDir, 'seen'));
  const incoming = new LocalIncoming(files, log, seen);
  const queue = new LocalQueue(files, log, options.clock);
  return {
    config: new ConfigStore(paths.configFile),
    incoming,
    mail: files,
    log,
    seen,
    queue,
    status: new FileRunStatus(path.join(paths.stateDir, 'status.json')),
    lock: new FileRunLock(path.join(paths.stateDir, 'run.lock'), { pid: options.pid, isAlive: options.isAlive }),
    async recover(accounts: readonly IncomingAccount[]): Promise<string[]> {
      await files.prepare();
      const notes = await incoming.recover(accounts, options.clock());
      notes.push(...(await queue.recover()));
      await files.clean('inbox', 0); // only the runner stages incoming mail there
      await files.clean('outbox', OUTBOX_TMP_AGE_MS);
      return notes;
    },
    close: () => files.close(),
  };
}
