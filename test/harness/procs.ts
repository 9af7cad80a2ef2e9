// Child daemons of the harness: start, stop, and never leak.
// Three layers: stop() in the test's afterAll; a process 'exit' hook (vitest worker ends normally);
// a watchdog per daemon (a tiny bash blocked on a pipe from us) that kills the daemon and removes its
// dir when this process dies without cleaning up (worker killed by a timeout or SIGKILL).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { rmSync } from 'node:fs';

export interface Daemon {
  child: ChildProcess;
  pid: number;
  /** Resolves when the daemon has exited (code or signal), never rejects. */
  exited: Promise<void>;
  /** Send `signal` (default TERM), KILL after graceMs, wait for the exit; idempotent. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const live = new Map<Daemon, NodeJS.Signals>();
const dirs = new Set<string>();
let hooked = false;

function cleanupSync(): void {
  for (const [d, signal] of live) {
    try {
      process.kill(d.pid, signal);
    } catch {
      /* already gone */
    }
  }
  live.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  // Synchronous only: on 'exit' nothing async runs. The watchdog finishes the job if the signal is ignored.
  process.on('exit', cleanupSync);
  // vitest ends its fork workers with SIGTERM, which skips 'exit': clean up, then die of the signal as
  // before unless someone else handles it.
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    const onSignal = () => {
      cleanupSync();
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

/** Temp dir removed at process exit if its owner was never stopped; forget it once removed. */
export function trackDir(dir: string): () => void {
  hookExit();
  dirs.add(dir);
  return () => void dirs.delete(dir);
}

// Blocks on stdin (our pipe); EOF means we died: signal the daemon ($2), KILL it if still there after
// 5 s, then delete its temp dir ($3, optional). A zombie counts as gone (init may reap it late).
const WATCHDOG = `alive() { local s; s=$(cat /proc/$1/stat 2>/dev/null) || return 1; s=\${s##*) }; [ "\${s%% *}" != Z ]; }
read -r _; kill -"$2" "$1" 2>/dev/null
for i in $(seq 50); do alive "$1" || break; sleep 0.1; done
alive "$1" && kill -KILL "$1" 2>/dev/null
[ -n "$3" ] && rm -rf -- "$3"; exit 0`;

/**
 * Spawn a long-running daemon (foreground mode) under the harness's guard. `killSignal` is what the
 * exit hook and the watchdog send (Dovecot: SIGKILL, its children then exit by themselves); the
 * watchdog also deletes `removeDir` once the daemon is gone.
 */
export function spawnDaemon(
  cmd: string,
  args: string[],
  opts: SpawnOptions & { killSignal?: NodeJS.Signals; removeDir?: string } = {},
): Daemon {
  hookExit();
  const { killSignal = 'SIGTERM', removeDir = '', ...spawnOpts } = opts;
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...spawnOpts });
  child.on('error', () => {}); // spawn failure (ENOENT): reported just below instead
  if (child.pid === undefined) throw new Error(`cannot run ${cmd} (is it installed? see test/run.sh)`);
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  // The watchdog must not keep our event loop alive, and must outlive nothing of ours.
  const dog = spawn('bash', ['-c', WATCHDOG, 'watchdog', String(pid), killSignal.replace(/^SIG/, ''), removeDir], { stdio: ['pipe', 'ignore', 'ignore'] });
  dog.unref();
  (dog.stdin as unknown as { unref?: () => void }).unref?.();
  dog.on('error', () => {});
  let stopping: Promise<void> | undefined;
  const d: Daemon = {
    child,
    pid,
    exited,
    stop(signal = 'SIGTERM', graceMs = 5000) {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill(signal);
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        }
        live.delete(d);
        dog.kill('SIGKILL'); // blocked in `read`, has no children of its own at this point
      })();
      return stopping;
    },
  };
  live.set(d, killSignal);
  void exited.then(() => {
    live.delete(d);
    if (!stopping) dog.kill('SIGKILL');
  });
  return d;
}

/** Collects a child's stderr (last 8 KB) for error messages. */
export function tailStderr(child: ChildProcess): () => string {
  let buf = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    buf = (buf + s).slice(-8192);
  });
  return () => buf;
}

/** Pids whose command line contains `needle` (like `pgrep -f`), excluding ourselves. */
export async function pgrep(needle: string): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmd = (await readFile(`/proc/${name}/cmdline`, 'utf8')).replace(/\0/g, ' ');
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue; // zombie: already dead
      if (cmd.includes(needle)) out.push(Number(name));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}
