// Secrets are resolved from their reference at the moment of use: keychain, environment, or a command.
// Nothing here ever writes a secret to a file, and no error message carries one.
import { KEYCHAIN_SERVICE, type KeychainRef, type SecretRef } from '../core/account.js';
import { MailboxError } from '../core/errors.js';
import { PasswordCommands, seconds, stopped, type CommandHost } from './password-command.js';

export type { CommandHost } from './password-command.js';

export interface ResolveOptions {
  /** The time the whole resolution may take (default DEFAULT_SECRET_TIMEOUT_MS); past it, 75. */
  timeoutMs?: number;
  /** A stop (the runner's SIGINT): a password command is killed at once, the resolution rejected. */
  signal?: AbortSignal;
}

export interface SecretStore {
  resolve(ref: SecretRef, account: string, options?: ResolveOptions): Promise<string>;
  /** Stores a secret in the keychain under `ref` (keychain references only). */
  save(ref: KeychainRef, secret: string): Promise<void>;
  /** Deletes a keychain entry; other kinds have nothing stored by us. */
  remove(ref: SecretRef): Promise<void>;
  /** Undefined when the keychain answers, else the error `save` would throw. */
  probeKeychain(): Promise<MailboxError | undefined>;
}

const KEYCHAIN_TIMEOUT_MS = 10_000;
/**
 * The limit of a resolution whose caller gives none (`mailbox run`, per account and cycle; `add` and
 * `edit`, whose connection test has the same limit): a password command must answer without waiting
 * for anyone, and no one answers a prompt of an unattended runner.
 */
export const DEFAULT_SECRET_TIMEOUT_MS = 15_000;

/** Where else a secret can come from when no keychain answers: the account fields that choose it. */
const OTHER_SOURCES = {
  hint: `on a headless Linux machine, run mailbox in a D-Bus session with an unlocked keyring (dbus-run-session -- sh -c 'printf %s "$KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null; mailbox ...'), or read the secret from the environment or from a command such as "pass show mail/work"`,
  fixes: [
    { field: 'passwordEnv', value: 'VAR' },
    { field: 'passwordCommand', value: '"CMD"' },
  ],
};

/**
 * A Secret Service that answers but keeps its keyring locked: gnome-keyring says "unlock prompt was
 * dismissed" (no one could answer the prompt), others that an item or collection "is locked".
 */
const LOCKED = /\b(un)?lock(ed)?\b/i;

function keychainUnavailable(err: unknown, account: string | undefined): MailboxError {
  const reason = (err as Error)?.message?.split('\n')[0] ?? String(err);
  if (LOCKED.test(reason)) {
    return new MailboxError('EKEYCHAIN', `the OS keychain is locked (${reason})`, {
      hint:
        'unlock it, then try again: log in to the desktop session, or unlock the login keyring in a keyring manager such as Seahorse ("Passwords and Keys"); ' +
        'without a desktop, restart gnome-keyring-daemon with its unlock option, giving it the keyring password on standard input. Or read the secret from the environment or from a command',
      fixes: OTHER_SOURCES.fixes,
      account,
      cause: err,
    });
  }
  return new MailboxError('EKEYCHAIN', `the OS keychain is unavailable (${reason})`, { ...OTHER_SOURCES, account, cause: err });
}

type KeychainEntry = import('@napi-rs/keyring').AsyncEntry;

/**
 * Runs a keychain call with a deadline (a wedged D-Bus must not hang the CLI). Opening the entry is
 * inside: with the store pinned, an unreachable Secret Service already fails there.
 */
async function withKeychain<T>(
  ref: KeychainRef,
  call: (entry: KeychainEntry, signal: AbortSignal) => Promise<T>,
  account?: string,
  options: ResolveOptions = {},
): Promise<T> {
  const { AsyncEntry } = await import('@napi-rs/keyring');
  const limitMs = Math.min(options.timeoutMs ?? KEYCHAIN_TIMEOUT_MS, KEYCHAIN_TIMEOUT_MS);
  const signal = AbortSignal.any([AbortSignal.timeout(limitMs), ...(options.signal ? [options.signal] : [])]);
  // The deadline holds even should a call not heed its signal.
  let onAbort = () => undefined as void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    // Pinned to the Secret Service on Linux: unpinned, the library silently falls back to the kernel
    // keyring, which forgets secrets at reboot and, where forbidden, reads back null ("no entry")
    // instead of saying the keychain is unavailable.
    const entry = new AsyncEntry(ref.service, ref.key, { linux: { store: 'secret-service' } });
    return await Promise.race([call(entry, signal), aborted]);
  } catch (err) {
    if (options.signal?.aborted) throw stopped(account);
    if (signal.aborted) {
      throw new MailboxError('ETIMEDOUT', `the OS keychain did not answer within ${seconds(limitMs)}`, { hint: 'try again; if it keeps happening, restart the Secret Service', account, cause: err });
    }
    throw keychainUnavailable(err, account);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** The secret store, and a way to stop the password commands still running (when the process exits). */
export interface CommandSecretStore extends SecretStore {
  stopCommands(): void;
}

export function createSecretStore(env: NodeJS.ProcessEnv, host: CommandHost): CommandSecretStore {
  const commands = new PasswordCommands(env, host);
  return {
    async resolve(ref, account, options = {}) {
      switch (ref.kind) {
        case 'env': {
          const value = env[ref.name];
          if (!value) {
            throw new MailboxError('ESECRET', `account ${account}: environment variable ${ref.name} is not set`, {
              hint: `export ${ref.name} before running mailbox, or keep the password in the keychain instead`,
              fixes: [{ field: 'password' }],
              account,
            });
          }
          return value;
        }
        case 'command':
          return commands.run(ref.command, account, { limitMs: options.timeoutMs ?? DEFAULT_SECRET_TIMEOUT_MS, signal: options.signal });
        case 'keychain': {
          const secret = await withKeychain(ref, (entry, signal) => entry.getPassword(signal), account, options);
          if (secret === null || secret === undefined) {
            throw new MailboxError('ESECRET', `account ${account}: no password in the keychain (entry ${ref.service}/${ref.key})`, {
              hint: 'store it again',
              fixes: [{ field: 'password' }],
              account,
            });
          }
          return secret;
        }
      }
    },
    async save(ref, secret) {
      await withKeychain(ref, (entry, signal) => entry.setPassword(secret, signal));
    },
    async remove(ref) {
      if (ref.kind !== 'keychain') return;
      await withKeychain(ref, (entry, signal) => entry.deletePassword(signal));
    },
    async probeKeychain() {
      // A read of an entry that need not exist: fails the same way a save would when no Secret Service answers.
      try {
        await withKeychain({ kind: 'keychain', service: KEYCHAIN_SERVICE, key: '.probe' }, (entry, signal) => entry.getPassword(signal));
        return undefined;
      } catch (err) {
        return err as MailboxError;
      }
    },
    stopCommands: () => commands.stopAll(),
  };
}
