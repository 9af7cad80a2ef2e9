// config.json: read, validated, and changed only under a lock with an atomic, fsynced write.
// Hand-written instead of `conf`: conf has no cross-process lock around read-modify-write (ten
// concurrent `mailbox add` would lose accounts) and loads ajv on every start.
import path from 'node:path';
import { emptyConfig, parseAccountsDocument, parseConfig, type AccountsDocument, type Config } from '../core/config.js';
import { MailboxError } from '../core/errors.js';
import { describeJsonError } from './json-errors.js';
import { ensureDir, readText, writeAtomic } from './local/files.js';
import type { ConfigChange, ConfigStorage } from './types.js';

export type { ConfigChange } from './types.js';

const LOCK_OPTIONS = {
  realpath: false,
  stale: 10_000,
  retries: { retries: 200, factor: 1.2, minTimeout: 10, maxTimeout: 100, randomize: true },
};

const BROKEN_HINT = 'the file was left untouched; fix it by hand or move it away to start afresh';

/** The file's JSON, or undefined when it does not exist; broken JSON is reported with its line and column. */
async function readJson(file: string): Promise<unknown | undefined> {
  const text = await readText(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new MailboxError('ECONFIG', `${file}: ${await describeJsonError(text, err as Error)}`, { hint: BROKEN_HINT });
  }
}

/** config.json, the local implementation of ConfigStorage. */
export class ConfigStore implements ConfigStorage {
  constructor(readonly file: string) {}

  async load(): Promise<Config> {
    const raw = await readJson(this.file);
    return raw === undefined ? emptyConfig() : parseConfig(raw, this.file);
  }

  /**
   * Read-modify-write under an exclusive lock. `change` sees the current config and returns the
   * new one (or no config to write nothing); nothing is written when it throws. `undo` runs when
   * the write fails (e.g. to take back a keychain entry stored for it); `afterWrite` runs once the
   * write is done, still under the lock.
   */
  async update<T>(change: (config: Config) => Promise<ConfigChange<T>> | ConfigChange<T>): Promise<T> {
    await ensureDir(path.dirname(this.file));
    let release: () => Promise<void>;
    try {
      // Loaded on first write only: read-only commands should not pay for them at start-up.
      const { default: lockfile } = await import('proper-lockfile');
      release = await lockfile.lock(this.file, LOCK_OPTIONS);
    } catch (err) {
      throw new MailboxError('ELOCKED', `config ${this.file} is locked by another mailbox command`, { hint: 'try again', cause: err });
    }
    try {
      const { config, result, undo, afterWrite } = await change(await this.load());
      if (config) {
        try {
          await this.write(config);
        } catch (err) {
          await undo?.().catch(() => undefined);
          throw err;
        }
      }
      await afterWrite?.();
      return result;
    } finally {
      await release().catch(() => undefined);
    }
  }

  private write(config: Config): Promise<void> {
    return writeAtomic(this.file, `${JSON.stringify(config, null, 2)}\n`);
  }
}

/** The administrator's read-only accounts document; missing file means none. */
export async function loadProvisioned(file: string): Promise<AccountsDocument> {
  const raw = await readJson(file);
  return raw === undefined ? { accounts: [], filters: [] } : parseAccountsDocument(raw, file);
}

/** Reads an accounts document given by the user (apply -f FILE, or - for stdin text). */
export async function readAccountsFile(file: string, text?: string): Promise<AccountsDocument> {
  let raw: unknown;
  if (text !== undefined) {
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new MailboxError('EVALUE', `${file}: ${await describeJsonError(text, err as Error)}`);
    }
  } else {
    try {
      raw = await readJson(file);
    } catch (err) {
      if (err instanceof MailboxError && err.code === 'ECONFIG') throw new MailboxError('EVALUE', err.message);
      throw err;
    }
    if (raw === undefined) throw new MailboxError('ENOTFOUND', `no such file: ${file}`);
  }
  try {
    return parseAccountsDocument(raw, file);
  } catch (err) {
    if (err instanceof MailboxError) throw new MailboxError('EVALUE', err.message, { field: err.field });
    throw err;
  }
}
