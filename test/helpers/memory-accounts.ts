// In-memory stand-ins for what the account use cases work on (config store, provisioned document,
// keychain), for fast tests of their logic. The real ConfigStore and Secret Service are tested
// against the file system and gnome-keyring (config-store, keychain and e2e tests).
import type { KeychainRef, SecretRef } from '../../src/core/account.js';
import { emptyConfig, type AccountsDocument, type Config } from '../../src/core/config.js';
import { MailboxError } from '../../src/core/errors.js';
import type { AccountStores } from '../../src/jobs/accounts/stores.js';
import type { ConfigChange } from '../../src/store/config-store.js';
import type { SecretStore } from '../../src/store/secrets.js';

/** load/update with ConfigStore's contract: undo when the write fails, afterWrite after it, one at a time. */
export class MemoryConfigStore {
  config: Config = emptyConfig();
  writes = 0;
  /** Makes the next write fail, as a full disk would. */
  failNextWrite = false;
  private queue: Promise<unknown> = Promise.resolve();

  async load(): Promise<Config> {
    return structuredClone(this.config);
  }

  update<T>(change: (config: Config) => Promise<ConfigChange<T>> | ConfigChange<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const { config, result, undo, afterWrite } = await change(await this.load());
      if (config) {
        if (this.failNextWrite) {
          this.failNextWrite = false;
          await undo?.().catch(() => undefined);
          throw new MailboxError('EIO', 'cannot write config.json: disk full');
        }
        this.config = structuredClone(config);
        this.writes++;
      }
      await afterWrite?.();
      return result;
    };
    const next = this.queue.then(run);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

const key = (ref: KeychainRef) => `${ref.service}/${ref.key}`;

/** A keychain in a Map, the environment in a record; `events` records keychain writes in order. */
export class MemorySecrets implements SecretStore {
  keychain = new Map<string, string>();
  env: Record<string, string> = {};
  /** The keychain answers nothing, like a machine without a Secret Service. */
  down = false;
  /** Only removing fails (the keychain went away after the config was written). */
  failRemove = false;
  constructor(private readonly events: string[] = []) {}

  private unavailable(): MailboxError {
    return new MailboxError('EKEYCHAIN', 'the OS keychain is unavailable (no Secret Service)', { fixes: [{ field: 'passwordEnv', value: 'VAR' }] });
  }

  async resolve(ref: SecretRef, account: string): Promise<string> {
    if (ref.kind === 'env') {
      const value = this.env[ref.name];
      if (value === undefined) throw new MailboxError('ESECRET', `account ${account}: environment variable ${ref.name} is not set`);
      return value;
    }
    if (ref.kind === 'command') return `output of ${ref.command}`;
    if (this.down) throw this.unavailable();
    const secret = this.keychain.get(key(ref));
    if (secret === undefined) throw new MailboxError('ESECRET', `account ${account}: no password in the keychain`);
    return secret;
  }

  async save(ref: KeychainRef, secret: string): Promise<void> {
    if (this.down) throw this.unavailable();
    this.keychain.set(key(ref), secret);
    this.events.push(`keychain save ${key(ref)}`);
  }

  async remove(ref: SecretRef): Promise<void> {
    if (ref.kind !== 'keychain') return;
    if (this.down || this.failRemove) throw this.unavailable();
    this.keychain.delete(key(ref));
    this.events.push(`keychain remove ${key(ref)}`);
  }

  async probeKeychain(): Promise<MailboxError | undefined> {
    return this.down ? this.unavailable() : undefined;
  }
}

export interface MemoryAccounts extends AccountStores {
  config: MemoryConfigStore;
  secrets: MemorySecrets;
  provisionedDoc: AccountsDocument;
  /** Keychain writes and config writes, in the order they happened. */
  events: string[];
}

export function memoryAccounts(provisioned: Partial<AccountsDocument> = {}): MemoryAccounts {
  const events: string[] = [];
  const config = new MemoryConfigStore();
  const update = config.update.bind(config);
  config.update = (change) =>
    update(async (c) => {
      const done = await change(c);
      if (done.config) events.push('config write');
      return done;
    });
  const doc: AccountsDocument = { accounts: [], filters: [], ...provisioned };
  return { config, secrets: new MemorySecrets(events), provisionedDoc: doc, provisioned: async () => structuredClone(doc), events };
}
