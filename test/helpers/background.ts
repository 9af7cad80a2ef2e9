// A `mailbox` process left running (a runner), its output collected, and waiting for a condition.
import { spawn, type ChildProcess } from 'node:child_process';
import { baseEnv, BIN } from './cli.js';

export interface Background {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then the exit. */
  stop: () => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function background(args: string[], home: string, env: NodeJS.ProcessEnv = {}): Background {
  const child = spawn(process.execPath, [BIN, ...args], { env: baseEnv({ MAILBOX_HOME: home, ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    output: () => output,
    exited,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
