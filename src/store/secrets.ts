// Secrets are resolved from their reference at the moment of use: keychain, environment, or a command.
// Nothing here ever writes a secret to a file, and no error message carries one.
import { spawn } from 'node:child_process';
import { KEYCHAIN_SERVICE, type KeychainRef, type SecretRef } from '../core/account.js';
import { MailboxError } from '../core/errors.js';

export interface ResolveOptions {
  /** The time the whole resolution may take (default DEFAULT_SECRET_TIMEOUT_MS); past it, 75. */
  timeoutMs?: number;
  /** A stop (the runner's SIGINT): a password command is killed at once, the resolution rejected. */
  signal?: AbortSignal;
}

function stopped(account: string | undefined): MailboxError {
  return new MailboxError('ETEMPFAIL', `${account ? `account ${account}: ` : ''}stopped while its secret was being read`, { account });
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
  hint: 'on a headless Linux machine, run a Secret Service such as gnome-keyring-daemon in a D-Bus session, or read the secret from the environment or from a command such as "pass show mail/work"',
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

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/** What a password command may print: a secret, not a file (a runaway command is stopped). */
const MAX_OUTPUT = 64 * 1024;
/** How long the rest of a command's output may take once the command exited (it is in the pipe). */
const DRAIN_MS = 200;
/** The tail of a failed command's error output that is shown (on a terminal only). */
const STDERR_TAIL = 4096;

/** How password commands are run and stopped; process control stays at the CLI edge. */
export interface CommandHost {
  /** Sends SIGKILL to a process group (process.kill(-pgid) at the edge). */
  killGroup(pgid: number): void;
  /**
   * Receives a failed command's error output, the secret taken out: never put in an error message,
   * a file or JSON, only shown on a terminal (the CLI decides).
   */
  stderr?: (account: string, text: string) => void;
  /** Called as a command starts, for the edge to kill its group should this process end first. */
  started?: () => void;
}

function stopGroup(host: CommandHost, pgid: number): void {
  try {
    host.killGroup(pgid);
  } catch {
    // already gone
  }
}

/** `text` with each line of what the command printed on stdout (the secret, in plain and base64) taken out. */
function withoutSecret(text: string, stdout: string): string {
  let out = text;
  for (const line of stdout.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length >= 3)) {
    for (const form of [line, Buffer.from(line).toString('base64')]) out = out.split(form).join('<redacted>');
  }
  return out;
}

/**
 * Runs a password command in its own process group (and session: it has no terminal to prompt on) and
 * resolves with its standard output. Every way out kills the group, so nothing it started (a
 * grandchild holding the pipe open, a pinentry waiting for input) outlives the resolution or holds it
 * up; `limitMs` bounds the whole of it. Its error output never goes into an error.
 */
function runCommand(command: string, env: NodeJS.ProcessEnv, account: string, options: ResolveOptions, host: CommandHost, running: Set<number>): Promise<string> {
  const limitMs = options.timeoutMs ?? DEFAULT_SECRET_TIMEOUT_MS;
  if (options.signal?.aborted) return Promise.reject(stopped(account));
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const pgid = child.pid;
    if (pgid !== undefined) running.add(pgid);
    host.started?.();
    const out: Buffer[] = [];
    let outBytes = 0;
    let errText = '';
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    const killGroup = () => pgid !== undefined && stopGroup(host, pgid);
    const finish = (failure?: MailboxError) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onStop);
      clearTimeout(limit);
      clearTimeout(drain);
      if (!exit) killGroup(); // once it exited, its group was killed then (its pid may be reused since)
      if (pgid !== undefined) running.delete(pgid);
      child.stdout.destroy();
      child.stderr.destroy();
      child.unref();
      const stdout = Buffer.concat(out).toString('utf8');
      const error = failure ?? outcome(stdout);
      if (!error) return resolve(stdout.replace(/\r?\n$/, ''));
      const shown = withoutSecret(errText, stdout).trim();
      if (shown) host.stderr?.(account, shown);
      reject(error);
    };
    const outcome = (stdout: string): MailboxError | undefined => {
      const hint = 'run it in a shell to see why (its error output is shown only on a terminal)';
      if (!exit) return new MailboxError('ESECRET', `account ${account}: the password command did not finish`, { hint, account });
      if (exit.code === 0) {
        // Like `pass`, commands end their output with a newline that is not part of the secret.
        if (stdout.replace(/\r?\n$/, '')) return undefined;
        return new MailboxError('ESECRET', `account ${account}: the password command printed nothing`, { hint, account });
      }
      const why = exit.signal ? `was stopped by ${exit.signal}` : `failed (exit code ${exit.code})`;
      return new MailboxError('ESECRET', `account ${account}: the password command ${why}`, { hint, account });
    };
    const limit = setTimeout(() => {
      finish(
        new MailboxError('ETIMEDOUT', `account ${account}: the password command did not finish within ${seconds(limitMs)}; it was stopped`, {
          hint: 'it must print the password without waiting for anyone (a prompt, an agent to unlock): run it in a shell to see what it waits for',
          account,
        }),
      );
    }, limitMs);
    let drain: NodeJS.Timeout | undefined;
    const onStop = () => finish(stopped(account));
    options.signal?.addEventListener('abort', onStop, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > MAX_OUTPUT) {
        return finish(new MailboxError('ESECRET', `account ${account}: the password command printed more than ${MAX_OUTPUT / 1024} KB: that is no password`, { account }));
      }
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errText = (errText + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    child.on('error', (err) => finish(new MailboxError('ESECRET', `account ${account}: cannot run the password command: ${err.message}`, { account })));
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // Whatever it left running goes with it; what it printed is in the pipe, read within moments.
      killGroup();
      drain = setTimeout(() => finish(), DRAIN_MS);
    });
    child.on('close', () => finish());
  });
}

/** The secret store, and a way to stop the password commands still running (when the process exits). */
export interface CommandSecretStore extends SecretStore {
  stopCommands(): void;
}

export function createSecretStore(env: NodeJS.ProcessEnv, host: CommandHost): CommandSecretStore {
  const running = new Set<number>();
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
          return runCommand(ref.command, env, account, options, host, running);
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
    stopCommands() {
      for (const pgid of running) stopGroup(host, pgid);
      running.clear();
    },
  };
}
