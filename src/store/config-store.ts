// config.json: read, validated, and changed only under a lock with an atomic, fsynced write.
// Hand-written instead of `conf`: conf has no cross-process lock around read-modify-write (ten
// concurrent `mailbox add` would lose accounts) and loads ajv on every start.
import path from 'node:path';
import { emptyConfig, parseAccountsDocument, parseConfig, type AccountsDocument, type Config } from '../core/config.js';
import { MailboxError } from '../core/errors.js';
import { describeJsonError } from './json-errors.js';
import { checkPrivate, ensureDir, ioError, readText, sweepTmp, writeAtomic } from './local/files.js';
import type { ConfigChange, ConfigStorage } from './types.js';

export type { ConfigChange } from './types.js';

// No retries inside proper-lockfile: it retries every failure alike, so a folder mailbox cannot
// write in (read-only, permission denied) was waited on for 20 s and then called "locked".
const LOCK_OPTIONS = { realpath: false, stale: 10_000, retries: 0 };
/** How long a command waits for another one to finish its change of the config. */
const LOCK_WAIT_MS = 20_000;

const BROKEN_HINT = 'the file was left untouched; fix it by hand or move it away to start afresh';

/** The file's JSON, or undefined when it does not exist; broken JSON is reported with its line and column. */
async function readJson(file: string): Promise<unknown | undefined> {
  // Followed: config.json may be a link to where the user keeps it (dotfiles).
  const text = await readText(file, { follow: true });
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new MailboxError('ECONFIG', `${file}: ${await describeJsonError(text, err as Error)}`, { hint: BROKEN_HINT });
  }
}

/** Takes the config's lock, waiting only while another mailbox command holds it. */
async function lockConfig(file: string): Promise<() => Promise<void>> {
  // Loaded on first write only: read-only commands should not pay for it at start-up.
  const { default: lockfile } = await import('proper-lockfile');
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let delay = 10; ; delay = Math.min(delay * 1.2, 100)) {
    try {
      return await lockfile.lock(file, LOCK_OPTIONS);
    } catch (err) {
      // proper-lockfile makes a folder beside the file: it is the folder that must be writable.
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw ioError(`write in ${path.dirname(file)} to lock`, path.basename(file), err);
      if (Date.now() > deadline) {
        throw new MailboxError('ELOCKED', `config ${file} is locked by another mailbox command`, { hint: 'try again', cause: err });
      }
    }
    await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
  }
}

/** config.json, the local implementation of ConfigStorage. */
export class ConfigStore implements ConfigStorage {
  constructor(readonly file: string) {}

  async load(): Promise<Config> {
    // Another user who can write the config (or its folder) chooses the password commands mailbox runs.
    await checkPrivate('folder', path.dirname(this.file));
    await checkPrivate('file', this.file);
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
    const release = await lockConfig(this.file);
    try {
      // Under the lock no other command writes the config: a temporary file left is a killed writer's.
      await sweepTmp(path.dirname(this.file));
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
    return writeAtomic(this.file, `${JSON.stringify(config, null, 2)}\n`, { follow: true });
  }
}

/** The administrator's read-only accounts document; missing file means none. */
export async function loadProvisioned(file: string): Promise<AccountsDocument> {
  await checkPrivate('file', file);
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
