// A job is one tool doing one transfer: fresh destination, command(s) to run, a check of the result.
// The same job is timed for throughput or wrapped in GNU time for peak memory.
import fs from 'node:fs';
import path from 'node:path';
import { describeExit, lastLines, run, which, type ProcOptions } from './proc.js';
import type { Contender } from './measure.js';

export interface Cmd {
  cmd: string;
  args: string[];
  opts?: ProcOptions;
  /** Exit codes that mean success (fetchmail: 1 = no mail). */
  okCodes?: number[];
}

export interface Job {
  tool: string;
  unavailable?: string;
  /** Makes an empty destination and returns the command(s) of one run, run one after another. */
  prepare(run: number): Promise<Cmd[]> | Cmd[];
  /** Throws unless the run delivered everything (and, where checked, byte for byte). */
  verify(): Promise<void> | void;
  /** Removes what the run wrote (keeps the disk from filling over many runs). */
  cleanup(): void;
  /** A known failure of the tool itself: the run is repeated (up to twice) and the row says why. */
  retryOn?: { pattern: RegExp; why: string };
}

/** Runs one command to its end; its wall time, or an error naming it and its last output. */
export async function exec(c: Cmd): Promise<number> {
  const result = await run(c.cmd, c.args, { timeoutMs: 30 * 60_000, ...c.opts });
  if (result.code === null || !(c.okCodes ?? [0]).includes(result.code)) {
    throw new Error(`${path.basename(c.cmd)} ${describeExit(result)}: ${lastLines(result)}`);
  }
  return result.seconds;
}

async function runJobOnce(job: Job, runNo: number, wrap: (c: Cmd) => Cmd): Promise<number> {
  const cmds = await job.prepare(runNo);
  try {
    const t0 = process.hrtime.bigint();
    for (const c of cmds) await exec(wrap(c));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await job.verify();
    return seconds;
  } finally {
    job.cleanup();
  }
}

async function runJob(job: Job, runNo: number, wrap: (c: Cmd) => Cmd = (c) => c): Promise<{ seconds: number; note?: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const seconds = await runJobOnce(job, runNo, wrap);
      return { seconds, note: attempt > 1 ? `run ${runNo} repeated ${attempt - 1}x: ${job.retryOn!.why}` : undefined };
    } catch (err) {
      if (attempt === 3 || !job.retryOn?.pattern.test((err as Error).message)) throw err;
    }
  }
}

/** Wall time of a run, from the first process started to the last one ended; `messages` per run. */
export function throughput(job: Job, messages: number): Contender {
  return {
    tool: job.tool,
    unavailable: job.unavailable,
    messages,
    once: async (r) => {
      const { seconds, note } = await runJob(job, r);
      return { value: seconds, note };
    },
  };
}

export const GNU_TIME = '/usr/bin/time';

/** Peak resident set size (MB) of the job's process (and any child it waited for), via GNU time. */
export function peakRss(job: Job, scratch: string): Contender {
  const missing = fs.existsSync(GNU_TIME) ? undefined : `${GNU_TIME} missing: apt-get install -y time`;
  return {
    tool: job.tool,
    unavailable: job.unavailable ?? missing,
    once: async (r) => {
      const out = path.join(scratch, `rss-${process.pid}-${r}.txt`);
      fs.rmSync(out, { force: true });
      const { seconds, note } = await runJob(job, r, (c) => ({ ...c, cmd: GNU_TIME, args: ['-a', '-f', '%M', '-o', out, c.cmd, ...c.args] }));
      // A repeated run appended its own line: the last one is the run that counted.
      const peakKb = fs.readFileSync(out, 'utf8').split('\n').filter((l) => /^\d+$/.test(l)).map(Number).pop()!;
      fs.rmSync(out, { force: true });
      return { value: peakKb / 1024, extra: { 'time (s)': seconds }, note };
    },
  };
}

/** "not installed" note for a peer command, or undefined when it is on PATH. */
export function notInstalled(cmd: string, pkg: string): string | undefined {
  return which(cmd) ? undefined : `${cmd} not installed (apt-get install -y ${pkg})`;
}
