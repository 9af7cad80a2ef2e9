// The store in memory, for fast tests of the jobs beside the tests against the local files and real
// servers. Same interfaces, same rules; nothing survives the process.
import { emptyConfig, type Config } from '../../core/config.js';
import { MailboxError } from '../../core/errors.js';
import type { ConfigChange, ConfigStorage, HeldRunLock, RunLock, RunStatus, RunStatusStore, StoreOptions, Stores } from '../types.js';
import { prunable } from '../queue-rules.js';
import { MemoryHandOffs, MemoryLog, MemoryMail, MemorySeen } from './mail.js';
import { MemoryQueue } from './queue.js';

class MemoryConfig implements ConfigStorage {
  constructor(private config: Config = emptyConfig()) {}

  async load(): Promise<Config> {
    return structuredClone(this.config);
  }

  private chain: Promise<unknown> = Promise.resolve();

  update<T>(change: (config: Config) => Promise<ConfigChange<T>> | ConfigChange<T>): Promise<T> {
    // One change at a time, as the file lock makes it.
    const next = this.chain.then(async () => {
      const { config, result, afterWrite } = await change(structuredClone(this.config));
      if (config) this.config = structuredClone(config);
      await afterWrite?.();
      return result;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
}

class MemoryStatus implements RunStatusStore {
  status: RunStatus = { accounts: {} };

  async load(): Promise<RunStatus> {
    return structuredClone(this.status);
  }

  async save(status: RunStatus): Promise<void> {
    this.status = structuredClone(status);
  }
}

class MemoryLock implements RunLock {
  held: number | null = null;

  constructor(private readonly pid: number) {}

  async acquire(): Promise<HeldRunLock> {
    if (this.held !== null) throw new MailboxError('ELOCKED', `another mailbox runner (pid ${this.held}) holds this store`);
    this.held = this.pid;
    return {
      tookOverFrom: null,
      release: async () => {
        this.held = null;
      },
    };
  }

  async holder(): Promise<number | null> {
    return this.held;
  }
}

export interface MemoryStores extends Stores {
  incoming: MemoryMail;
  mail: MemoryMail;
  log: MemoryLog;
  seen: MemorySeen;
  status: MemoryStatus;
  lock: MemoryLock;
}

export function openMemoryStores(options: Partial<StoreOptions> & { config?: Config } = {}): MemoryStores {
  const clock = options.clock ?? (() => new Date());
  const log = new MemoryLog();
  const seen = new MemorySeen();
  const mail = new MemoryMail(log, seen);
  return {
    config: new MemoryConfig(options.config),
    incoming: mail,
    mail,
    log,
    seen,
    queue: new MemoryQueue(mail, log, clock),
    handoffs: new MemoryHandOffs(log, mail),
    status: new MemoryStatus(),
    lock: new MemoryLock(options.pid ?? 1),
    // A batch is kept whole or not at all, and a claim is recognised as such: nothing to repair.
    recover: async () => [],
    async prune(ids: readonly string[]): Promise<string[]> {
      const gone = ids.filter((id) => {
        const record = log.latest.get(id);
        return record !== undefined && prunable(record);
      });
      for (const id of gone) mail.messages.delete(id);
      log.remove(new Set(gone));
      return gone;
    },
    close: async () => undefined,
  };
}
