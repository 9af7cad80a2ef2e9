// A `mailbox run` left running in the background (push tests): its output, its status, waits.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { baseEnv, BIN } from './cli.js';

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

/** The runner's push state of an account, as state/status.json holds it (what `mailbox status` shows). */
export function pushState(home: string, account: string): Record<string, unknown> | undefined {
  try {
    const status = JSON.parse(fs.readFileSync(path.join(home, 'state', 'status.json'), 'utf8')) as { push?: Record<string, Record<string, unknown>> };
    return status.push?.[account.toLowerCase()];
  } catch {
    return undefined;
  }
}

/** The files in the inbox's new/ whose name says they came from this account. */
export function stored(home: string, account: string): string[] {
  const dir = path.join(home, 'mail', 'inbox', 'new');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((n) => n.includes(`src=${account}+`)).map((n) => path.join(dir, n));
}
