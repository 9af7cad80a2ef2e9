// Secrets are resolved from their reference at the moment of use: keychain, environment, or a command.
// Nothing here ever writes a secret to a file, and no error message carries one.
import { spawn } from 'node:child_process';
import { KEYCHAIN_SERVICE, type KeychainRef, type SecretRef } from '../core/account.js';
import { MailboxError } from '../core/errors.js';

export interface SecretStore {
  resolve(ref: SecretRef, account: string): Promise<string>;
  /** Stores a secret in the keychain under `ref` (keychain references only). */
  save(ref: KeychainRef, secret: string): Promise<void>;
  /** Deletes a keychain entry; other kinds have nothing stored by us. */
  remove(ref: SecretRef): Promise<void>;
  /** Undefined when the keychain answers, else the error `save` would throw. */
  probeKeychain(): Promise<MailboxError | undefined>;
}

const KEYCHAIN_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 30_000;

/** Where else a secret can come from when no keychain answers: the account fields that choose it. */
const OTHER_SOURCES = {
  hint: `on a headless Linux machine, run mailbox in a D-Bus session with an unlocked keyring (dbus-run-session -- sh -c 'printf %s "$KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null; mailbox ...'), or read the secret from the environment or from a command such as "pass show mail/work"`,
  fixes: [
    { field: 'passwordEnv', value: 'VAR' },
    { field: 'passwordCommand', value: '"CMD"' },
  ],
};

function keychainUnavailable(err: unknown, account: string | undefined): MailboxError {
  const reason = (err as Error)?.message?.split('\n')[0] ?? String(err);
  return new MailboxError('EKEYCHAIN', `the OS keychain is unavailable (${reason})`, { ...OTHER_SOURCES, account, cause: err });
}

type KeychainEntry = import('@napi-rs/keyring').AsyncEntry;

/**
 * Runs a keychain call with a deadline (a wedged D-Bus must not hang the CLI). Opening the entry is
 * inside: with the store pinned, an unreachable Secret Service already fails there.
 */
async function withKeychain<T>(ref: KeychainRef, call: (entry: KeychainEntry, signal: AbortSignal) => Promise<T>, account?: string): Promise<T> {
  const { AsyncEntry } = await import('@napi-rs/keyring');
  const signal = AbortSignal.timeout(KEYCHAIN_TIMEOUT_MS);
  try {
    // Pinned to the Secret Service on Linux: unpinned, the library silently falls back to the kernel
    // keyring, which forgets secrets at reboot and, where forbidden, reads back null ("no entry")
    // instead of saying the keychain is unavailable.
    const entry = new AsyncEntry(ref.service, ref.key, { linux: { store: 'secret-service' } });
    return await call(entry, signal);
  } catch (err) {
    throw keychainUnavailable(err, account);
  }
}

function runCommand(command: string, env: NodeJS.ProcessEnv, account: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: COMMAND_TIMEOUT_MS });
    const out: Buffer[] = [];
    let errText = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (errText += c.toString('utf8')));
    child.on('error', (err) => reject(new MailboxError('ESECRET', `account ${account}: cannot run the password command: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) {
        // Like `pass`, commands end their output with a newline that is not part of the secret.
        const secret = Buffer.concat(out).toString('utf8').replace(/\r?\n$/, '');
        if (secret) return resolve(secret);
        return reject(new MailboxError('ESECRET', `account ${account}: the password command printed nothing`));
      }
      const why = signal ? `was stopped by ${signal}` : `exited with ${code}`;
      const first = errText.trim().split('\n')[0];
      reject(new MailboxError('ESECRET', `account ${account}: the password command ${why}${first ? `: ${first}` : ''}`));
    });
  });
}

export function createSecretStore(env: NodeJS.ProcessEnv): SecretStore {
  return {
    async resolve(ref, account) {
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
          return runCommand(ref.command, env, account);
        case 'keychain': {
          const secret = await withKeychain(ref, (entry, signal) => entry.getPassword(signal), account);
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
  };
}
