// Running the tools under test: wall time of one process, its output kept short for error notes.
import { spawn, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface ProcResult {
  seconds: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ProcOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, then stdin is closed; without it stdin is /dev/null. */
  input?: string | Buffer;
  /** A file streamed to stdin (messages for msmtp). */
  inputFile?: string;
  timeoutMs?: number;
  uid?: number;
  gid?: number;
}

const KEEP = 64 * 1024;

function keepTail(text: string, chunk: Buffer): string {
  const next = text + chunk.toString('utf8');
  return next.length > KEEP ? next.slice(-KEEP) : next;
}

/** Runs one command to its end; the time is from spawn to exit, as a user would see it. */
export function run(cmd: string, args: string[], opts: ProcOptions = {}): Promise<ProcResult> {
  const stdin = opts.input !== undefined ? 'pipe' : opts.inputFile ? fs.openSync(opts.inputFile, 'r') : 'ignore';
  const spawnOpts: SpawnOptions = { env: opts.env ?? process.env, cwd: opts.cwd, stdio: [stdin, 'pipe', 'pipe'] };
  if (opts.uid !== undefined) spawnOpts.uid = opts.uid;
  if (opts.gid !== undefined) spawnOpts.gid = opts.gid;
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, spawnOpts);
    if (typeof stdin === 'number') fs.closeSync(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout = keepTail(stdout, c)));
    child.stderr!.on('data', (c: Buffer) => (stderr = keepTail(stderr, c)));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (timer) clearTimeout(timer);
      resolve({ seconds, code, signal, stdout, stderr });
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(opts.input);
    }
  });
}

/** Like run(), but a non-zero exit is an error naming the command and its last output. */
export async function mustRun(cmd: string, args: string[], opts: ProcOptions = {}): Promise<ProcResult> {
  const result = await run(cmd, args, opts);
  if (result.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${describeExit(result)}): ${lastLines(result)}`);
  return result;
}

export function describeExit(r: ProcResult): string {
  return r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
}

/** The last few output lines of a failed command, for a one-line note. */
export function lastLines(r: { stdout: string; stderr: string }, n = 3): string {
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.slice(-n).join(' | ').slice(0, 400);
}

/** Full path of an executable on PATH, or undefined. */
export function which(cmd: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, cmd);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

export const isRoot = (): boolean => process.getuid?.() === 0;
