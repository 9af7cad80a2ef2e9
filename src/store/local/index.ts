// The embedded store, all files under the data folders: config.json, Maildir boxes, the email log,
// the seen state, the queue, the runner's lock and status. Everything above it sees the interfaces.
import path from 'node:path';
import { BOXES, boxOf } from '../../core/email.js';
import { ConfigStore } from '../config-store.js';
import { prunable } from '../queue-rules.js';
import type { Paths } from '../paths.js';
import type { IncomingAccount, StoreOptions, Stores } from '../types.js';
import { FileEmailLog } from './email-log.js';
import { sweepTmp } from './files.js';
import { LocalHandOffs } from './handoffs.js';
import { LocalIncoming } from './incoming.js';
import { MailFiles } from './mail-files.js';
import { parseProcessTag, processTag, Processes } from './processes.js';
import { LocalQueue } from './queue.js';
import { FileRunLock } from './run-lock.js';
import { FileRunStatus } from './run-status.js';
import { FileSeenState } from './seen-state.js';

export function openLocalStores(paths: Paths, options: StoreOptions): Stores {
  const processes = new Processes(options.isAlive);
  let self: Promise<string> | undefined;
  const files = new MailFiles(paths.mailDir, {
    tag: () => (self ??= processes.identify(options.pid).then(processTag)),
    alive: (tag, writtenAt) => {
      const writer = parseProcessTag(tag);
      return writer ? processes.alive(writer, writtenAt) : Promise.resolve(false);
    },
  });
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
    handoffs: new LocalHandOffs(files, log.file),
    status: new FileRunStatus(path.join(paths.stateDir, 'status.json')),
    lock: new FileRunLock(path.join(paths.stateDir, 'run.lock'), { pid: options.pid, isAlive: options.isAlive }),
    async recover(accounts: readonly IncomingAccount[]): Promise<string[]> {
      await files.prepare();
      const notes = await incoming.recover(accounts, options.clock());
      notes.push(...(await queue.recover()));
      await files.clearTmp('inbox'); // only the runner stages incoming mail there
      // Under the run lock only the runner rewrites state files: temporary files left are a killed runner's.
      await sweepTmp(paths.stateDir);
      await sweepTmp(path.join(paths.stateDir, 'seen'));
      return notes;
    },
    async prune(ids: readonly string[]): Promise<string[]> {
      const records = await log.readAll();
      const gone = ids.flatMap((id) => {
        const record = records.get(id);
        return record && prunable(record) ? [record] : [];
      });
      // Bodies first, then the log: a stop in between leaves records whose file is missing (shown as
      // such, pruned again next time), never a stored file without its record.
      const removed: string[] = [];
      for (const record of gone) {
        if (await files.remove(record.file, boxOf(record))) removed.push(record.id);
        // Not where its record says: moved meanwhile (an `emails retry`): left alone. Nowhere: the record goes.
        else if (!(await Promise.all(BOXES.map((box) => files.locate(record.file, box)))).some(Boolean)) removed.push(record.id);
      }
      await files.sync();
      await log.appendPruned(removed);
      return removed;
    },
    close: () => files.close(),
  };
}
