// The embedded store, all files under the data folders: Maildir boxes, the email log, the seen
// state, the queue, the runner's lock and status. Everything above it sees only the interfaces.
import path from 'node:path';
import { FileEmailLog, type EmailLog } from './email-log.js';
import { LocalMailStore, type MailStore } from './mail-store.js';
import type { Paths } from './paths.js';
import { LocalQueue, type Queue } from './queue.js';
import { RunStatusStore } from './run-status.js';
import { FileSeenState, type SeenState } from './seen-state.js';

export interface Stores {
  mail: MailStore;
  log: EmailLog;
  seen: SeenState;
  queue: Queue;
  status: RunStatusStore;
  lockFile: string;
}

export function openLocalStores(paths: Paths, clock: () => Date = () => new Date()): Stores {
  const mail = new LocalMailStore(paths.mailDir);
  const log = new FileEmailLog(path.join(paths.stateDir, 'emails.jsonl'));
  return {
    mail,
    log,
    seen: new FileSeenState(path.join(paths.stateDir, 'seen')),
    queue: new LocalQueue(mail, log, clock),
    status: new RunStatusStore(path.join(paths.stateDir, 'status.json')),
    lockFile: path.join(paths.stateDir, 'run.lock'),
  };
}
