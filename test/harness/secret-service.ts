// A private Secret Service for keychain tests: our own D-Bus session bus plus gnome-keyring-daemon,
// unlocked, with a temporary HOME. Run the code under test with `{ ...process.env, ...ss.env }`.
//
// The bus config has no service dirs: nothing is D-Bus-activated behind our back (a stock session bus
// would activate a second, locked gnome-keyring, which then waits for a prompt nobody answers).
//
// Without a Secret Service, see noSecretServiceEnv(): @napi-rs/keyring 2.1.2 answers at once, never hangs.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { spawnDaemon, tailStderr, trackDir, type Daemon } from './procs.js';

const run = promisify(execFile);
const KEYRING = createRequire(import.meta.url).resolve('@napi-rs/keyring');

export interface SecretServiceEnv {
  DBUS_SESSION_BUS_ADDRESS: string;
  HOME: string;
  XDG_RUNTIME_DIR: string;
  XDG_DATA_HOME: string;
  XDG_CONFIG_HOME: string;
  XDG_CACHE_HOME: string;
}

export interface SecretService {
  env: SecretServiceEnv;
  dir: string;
  /** Process ids of dbus-daemon and gnome-keyring-daemon (absent with keyring: false). */
  pids: { bus: number; keyring?: number };
  /**
   * Locks the login keyring (as a session does whose login did not unlock it): every read of an entry
   * in it, and every write, then asks for an unlock prompt that nobody answers, and fails at once.
   */
  lock(): Promise<void>;
  /** Idempotent: stops gnome-keyring-daemon then dbus-daemon, deletes dir. */
  stop(): Promise<void>;
}

export interface SecretServiceOptions {
  /** false: the bus only, with no Secret Service on it (a "no keyring daemon" session). */
  keyring?: boolean;
}

const BUS_CONF = (socket: string) => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;

export async function startSecretService(opts: SecretServiceOptions = {}): Promise<SecretService> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mbx-secrets-'));
  const untrack = trackDir(dir);
  const daemons: Daemon[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      for (const d of daemons.reverse()) await d.stop('SIGTERM', 2000);
      await rm(dir, { recursive: true, force: true });
      untrack();
    })());
  try {
    const home = path.join(dir, 'home');
    const runtime = path.join(dir, 'run');
    await mkdir(home, { mode: 0o700 });
    await mkdir(runtime, { mode: 0o700 });
    const conf = path.join(dir, 'bus.conf');
    await writeFile(conf, BUS_CONF(path.join(dir, 'bus')));

    // "Failed to set fd limit" on stderr is harmless (unprivileged setrlimit).
    const bus = spawnDaemon('dbus-daemon', ['--config-file', conf, '--nofork', '--print-address=1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      removeDir: dir,
    });
    daemons.push(bus);
    const busErr = tailStderr(bus.child);
    const address = await firstLine(bus, () => `dbus-daemon did not start: ${busErr()}`);
    const env: SecretServiceEnv = {
      DBUS_SESSION_BUS_ADDRESS: address,
      HOME: home,
      XDG_RUNTIME_DIR: runtime,
      XDG_DATA_HOME: path.join(home, '.local/share'),
      XDG_CONFIG_HOME: path.join(home, '.config'),
      XDG_CACHE_HOME: path.join(home, '.cache'),
    };
    if (opts.keyring !== false) {
      // --unlock reads the login keyring password from stdin (first run creates the keyring with it).
      const gk = spawnDaemon('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], {
        stdio: ['pipe', 'ignore', 'pipe'],
        env: { ...process.env, ...env },
      });
      daemons.push(gk);
      gk.child.stdin?.end('harness-keyring-password');
      const gkErr = tailStderr(gk.child);
      await waitForName(env, 'org.freedesktop.secrets', gk, () => `gnome-keyring-daemon did not register: ${gkErr()}`);
    }
    const lock = async () => {
      await run('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.secrets', '/org/freedesktop/secrets',
        'org.freedesktop.Secret.Service.Lock', 'array:objpath:/org/freedesktop/secrets/collection/login'], { env: { ...process.env, ...env } });
    };
    return { env, dir, pids: { bus: bus.pid, keyring: daemons[1]?.pid }, lock, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * An environment in which no Secret Service can be reached: the session bus address names a socket that
 * does not exist. Merge over process.env. What @napi-rs/keyring 2.1.2 then does (measured, < 2 ms each):
 *  - pinned `{ linux: { store: 'secret-service' } }`: every call throws
 *    "Platform failure: DBus error: Failed to connect to socket /nonexistent/...: No such file or directory";
 *    with the variable unset instead: "... Using X11 for dbus-daemon autolaunch was disabled at compile time ...".
 *  - default store (Secret Service, falling back to the kernel keyring): it falls back to keyutils; in a
 *    container that forbids keyctl, setPassword throws "Couldn't access platform storage: AccessDenied" while
 *    getPassword() returns null and deleteCredential() returns false: a read cannot tell "no keychain" from
 *    "no entry". On a normal Linux host the fallback *works* and stores into the volatile kernel keyring.
 */
export function noSecretServiceEnv(): { DBUS_SESSION_BUS_ADDRESS: string } {
  return { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/mailbox-test/bus' };
}

export interface KeyringProbe {
  ok: boolean;
  /** What getPassword() returned after setPassword(), when ok. */
  value?: string | null;
  /** The error message, when not ok. */
  error?: string;
  ms: number;
}

/**
 * Round-trips a password through @napi-rs/keyring in a separate node process with `env` merged over ours
 * (a fresh process: the library caches its D-Bus connection). `store` pins the Linux backend.
 */
export async function probeKeyring(env: Record<string, string>, store?: 'secret-service' | 'keyutils'): Promise<KeyringProbe> {
  const script = `
const { Entry } = require(${JSON.stringify(KEYRING)});
const t = Date.now();
try {
  const e = new Entry('mailbox-harness', 'probe', ${store ? JSON.stringify({ linux: { store } }) : 'undefined'});
  e.setPassword('probe-secret é');
  const value = e.getPassword();
  e.deleteCredential();
  console.log(JSON.stringify({ ok: true, value, ms: Date.now() - t }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: String(err && err.message), ms: Date.now() - t }));
}`;
  const { stdout } = await run(process.execPath, ['-e', script], {
    env: { ...process.env, ...env },
    timeout: 30_000,
  });
  return JSON.parse(stdout.trim()) as KeyringProbe;
}

async function firstLine(d: Daemon, why: () => string): Promise<string> {
  const out = d.child.stdout;
  if (!out) throw new Error(why());
  const lines = createInterface({ input: out });
  try {
    return await new Promise<string>((resolve, reject) => {
      lines.once('line', (l) => resolve(l.trim()));
      void d.exited.then(() => reject(new Error(why())));
      setTimeout(() => reject(new Error(why())), 10_000).unref();
    });
  } finally {
    lines.close();
  }
}

async function waitForName(env: SecretServiceEnv, name: string, d: Daemon, why: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  let dead = false;
  void d.exited.then(() => (dead = true));
  for (;;) {
    const { stdout } = await run('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.DBus',
      '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', `string:${name}`], { env: { ...process.env, ...env } });
    if (/boolean true/.test(stdout)) return;
    if (dead || Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 20));
  }
}
