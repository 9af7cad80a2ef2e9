// A `mailbox run` left running in the background (push tests): its output, its status, waits.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startDovecot, USERS, type Dovecot } from '../harness/index.js';
import { baseEnv, BIN, tmpHome } from './cli.js';

export interface Background {
  child: ChildProcess;
  output: () => string;
  /** The JSON cycle lines printed so far (--log-format json). */
  lines: () => Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, and the exit. */
  stop: () => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function background(args: string[], home: string, env: NodeJS.ProcessEnv = {}): Background {
  const child = spawn(process.execPath, [BIN, ...args], { env: baseEnv({ MAILBOX_HOME: home, ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let output = '';
  child.stdout!.on('data', (c) => {
    stdout += c;
    output += c;
  });
  child.stderr!.on('data', (c) => (output += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    output: () => output,
    lines: () =>
      stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    exited,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000, stepMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

interface StatusFile {
  accounts?: Record<string, { at?: string }>;
  push?: Record<string, Record<string, unknown>>;
}

/** state/status.json as the runner last wrote it (what `mailbox status` shows); empty before. */
function statusFile(home: string): StatusFile {
  try {
    return JSON.parse(fs.readFileSync(path.join(home, 'state', 'status.json'), 'utf8')) as StatusFile;
  } catch {
    return {};
  }
}

/** The runner's push state of an account. */
export function pushState(home: string, account: string): Record<string, unknown> | undefined {
  return statusFile(home).push?.[account.toLowerCase()];
}

/** When the account's last cycle ended: every read, printed or not (a quiet one is not). */
export function lastCycleAt(home: string, account: string): string | undefined {
  return statusFile(home).accounts?.[account.toLowerCase()]?.at;
}

/** The files in the inbox's new/ whose name says they came from this account. */
export function stored(home: string, account: string): string[] {
  const dir = path.join(home, 'mail', 'inbox', 'new');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((n) => n.includes(`src=${account}+`)).map((n) => path.join(dir, n));
}

/** Work a test leaves behind: runners to stop, homes and servers to remove (after each test). */
export class Leftovers {
  readonly runners: Background[] = [];
  readonly cleanups: Array<() => void | Promise<void>> = [];

  async clear(): Promise<void> {
    await Promise.all(this.runners.splice(0).map((r) => r.stop()));
    for (const c of this.cleanups.splice(0)) await c();
  }

  /** A fresh home whose config.json holds these accounts. */
  home(accounts: unknown[], prefix = 'mbx-push-'): string {
    const { home: dir, cleanup } = tmpHome(prefix);
    this.cleanups.push(cleanup);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ version: 1, accounts, filters: [] }));
    return dir;
  }

  /** `mailbox run` with push, a read interval of ten minutes (only push is fast) and JSON cycle lines. */
  run(home: string, env: NodeJS.ProcessEnv, args: string[] = []): Background {
    const runner = background(['run', '--read-interval', '10m', '--send-interval', '10m', '--log-format', 'json', ...args], home, env);
    this.runners.push(runner);
    return runner;
  }
}

export interface PushWorld {
  readonly dovecot: Dovecot;
  readonly env: NodeJS.ProcessEnv;
  readonly left: Leftovers;
  /** A home with one IMAP account work-imap of `user` on the Dovecot (over: its fields changed), and `extra` accounts. */
  home(over?: Record<string, unknown>, extra?: unknown[]): string;
  start(home: string, args?: string[]): Background;
}

/** A Dovecot for the file and an account of `user` on it; runners and homes removed after each test. Call at the top of a test file. */
export function pushWorld(user: string): PushWorld {
  let dovecot: Dovecot | undefined;
  const left = new Leftovers();
  const env = { MBX_PW: USERS[user] };
  beforeAll(async () => {
    dovecot = await startDovecot();
  });
  afterAll(async () => {
    await dovecot?.stop();
  });
  afterEach(() => left.clear());
  return {
    get dovecot() {
      return dovecot!;
    },
    env,
    left,
    home(over = {}, extra = []) {
      const d = dovecot!;
      const account = { name: 'work-imap', type: 'imap', host: d.host, port: d.imapsPort, security: 'tls', user, secret: { kind: 'env', name: 'MBX_PW' }, tls: { ca: d.caFile }, ...over };
      return left.home([account, ...extra]);
    },
    start: (home, args = []) => left.run(home, env, args),
  };
}
