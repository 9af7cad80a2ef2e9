// A command run through /bin/sh in its own process group (and session: no terminal to prompt on),
// bounded in time and killed as a group on every way out, so that nothing it starts (a grandchild
// holding a pipe open, a pinentry waiting for input) outlives or holds up the caller. Password
// commands (password-command.ts) and MDA commands (destinations/mda.ts) both run this way.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/** Process control stays at the CLI edge. */
export interface GroupHost {
  /** Sends SIGKILL to a process group (process.kill(-pgid) at the edge). */
  killGroup(pgid: number): void;
  /** Called as a command starts, for the edge to kill its group should this process end first. */
  started?: () => void;
}

/** How a run ended: the command exited, the time limit passed, a stop came, it could not start, or the caller ended it. */
export type GroupEnd =
  | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'limit' }
  | { kind: 'stopped' }
  | { kind: 'error'; error: Error }
  | { kind: 'ended' };

export interface GroupOptions {
  env: NodeJS.ProcessEnv;
  /** 'pipe': the caller writes the command's standard input (child.stdin). */
  stdin: 'ignore' | 'pipe';
  /** The time the whole run may take. */
  limitMs: number;
  /** A stop (the runner's SIGINT): the group is killed at once. */
  signal?: AbortSignal;
  /** How long the rest of the output may take once the command exited (it is in the pipe). */
  drainMs: number;
  /** The groups at work, for the edge to kill should this process end first. */
  running: Set<number>;
}

export interface GroupRun {
  readonly child: ChildProcessByStdio<Writable | null, Readable, Readable>;
  /** Resolves once the run is over and its group killed; never rejects. */
  readonly done: Promise<GroupEnd>;
  /** Ends the run now (the caller saw enough), killing the group. */
  end(): void;
}

export function killGroup(host: GroupHost, pgid: number): void {
  try {
    host.killGroup(pgid);
  } catch {
    // already gone
  }
}

export function runGroup(command: string, options: GroupOptions, host: GroupHost): GroupRun {
  const child = spawn('/bin/sh', ['-c', command], { env: options.env, stdio: [options.stdin, 'pipe', 'pipe'], detached: true }) as ChildProcessByStdio<Writable | null, Readable, Readable>;
  const pgid = child.pid;
  if (pgid !== undefined) options.running.add(pgid);
  host.started?.();
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let settled = false;
  let resolveDone!: (end: GroupEnd) => void;
  const done = new Promise<GroupEnd>((resolve) => (resolveDone = resolve));
  const kill = () => pgid !== undefined && killGroup(host, pgid);
  let drain: NodeJS.Timeout | undefined;
  const finish = (end?: GroupEnd) => {
    if (settled) return;
    settled = true;
    options.signal?.removeEventListener('abort', onStop);
    clearTimeout(limit);
    clearTimeout(drain);
    if (!exit) kill(); // once it exited, its group was killed then (its pid may be reused since)
    if (pgid !== undefined) options.running.delete(pgid);
    child.stdin?.destroy();
    child.stdout.destroy();
    child.stderr.destroy();
    child.unref();
    resolveDone(end ?? (exit ? { kind: 'exit', ...exit } : { kind: 'ended' }));
  };
  const limit = setTimeout(() => finish({ kind: 'limit' }), options.limitMs);
  const onStop = () => finish({ kind: 'stopped' });
  if (options.signal?.aborted) queueMicrotask(onStop);
  else options.signal?.addEventListener('abort', onStop, { once: true });
  child.on('error', (error) => finish({ kind: 'error', error }));
  child.on('exit', (code, signal) => {
    exit = { code, signal };
    // Whatever it left running goes with it; what it printed is in the pipe, read within moments.
    kill();
    drain = setTimeout(() => finish(), options.drainMs);
  });
  child.on('close', () => finish());
  return { child, done, end: () => finish({ kind: 'ended' }) };
}
