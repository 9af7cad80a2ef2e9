// Benchmark 7: push (IMAP IDLE). How long from a delivery (doveadm save returned) to the message's file
// in new/, for a runner that watches the account (push) and one that only polls (--no-push), over the
// same random delivery times; and what a runner watching many idle accounts costs: CPU and RSS.
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { BenchEnv } from './env.js';
import { applyAccounts, BIN, inboxOf, mailboxEnv } from './mailbox.js';
import { makeMessage } from './corpus.js';
import { median, summarize, type Row, type Section, type Target } from './results.js';
import { startDovecot, type Dovecot } from './servers.js';
import { unjudged } from './targets.js';

export const PUSH_USER = 'carol@example.test';

function p95(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)]!;
}

function startRunner(home: string, args: string[], user: string): ChildProcess {
  const child = spawn(process.execPath, [BIN, 'run', '--send-interval', '1h', ...args], { env: mailboxEnv(home, user), stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.resume();
  return child;
}

async function stopRunner(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, timeoutMs: number, stepMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(stepMs);
  }
}

function pushStates(home: string): Record<string, { state: string | null; mode: string }> {
  try {
    return (JSON.parse(fs.readFileSync(path.join(home, 'state', 'status.json'), 'utf8')) as { push?: Record<string, { state: string | null; mode: string }> }).push ?? {};
  } catch {
    return {};
  }
}

/** The UID a file in new/ was stored from (its name carries src=ACCOUNT+UIDVALIDITY%2FUID). */
function uidOf(name: string): number {
  const m = /src=[^+]+\+\d+%2F(\d+)/.exec(name);
  return m ? Number(m[1]) : NaN;
}

/**
 * Delivers `count` messages at random gaps (uniform in [0, 2 * meanGapMs]) while a runner reads the
 * account, and returns each message's delay in ms from its delivery to its file in new/.
 */
async function delays(env: BenchEnv, label: string, runnerArgs: string[], count: number, meanGapMs: number): Promise<number[]> {
  const dovecot = env.dovecot;
  const home = env.fresh(`push-${label}`);
  await dovecot.doveadm(['expunge', '-u', PUSH_USER, 'mailbox', 'INBOX', 'all']).catch(() => undefined);
  const uidNext = Number((await dovecot.doveadm(['-f', 'flow', 'mailbox', 'status', '-u', PUSH_USER, 'uidnext', 'INBOX'])).trim().split('=')[1]);
  await applyAccounts(env, home, [{ name: 'push', type: 'imap', port: dovecot.imapsPort, user: PUSH_USER }]);
  const runner = startRunner(home, runnerArgs, PUSH_USER);
  const newDir = path.join(inboxOf(home), 'new');
  const delivered = new Map<number, number>();
  const seen = new Map<number, number>();
  let watching = true;
  // Polls new/ every 5 ms: the arrival time of each file, to 5 ms.
  const watcher = (async () => {
    while (watching) {
      if (fs.existsSync(newDir)) for (const name of fs.readdirSync(newDir)) if (!seen.has(uidOf(name))) seen.set(uidOf(name), performance.now());
      await sleep(5);
    }
  })();
  try {
    if (runnerArgs.includes('--no-push')) await until('the first poll', () => fs.existsSync(path.join(home, 'state', 'status.json')), 30_000, 20);
    else await until('watching', () => pushStates(home).push?.state === 'watching', 30_000, 20);
    for (let i = 0; i < count; i++) {
      await sleep(Math.random() * 2 * meanGapMs);
      await dovecot.deliver(PUSH_USER, makeMessage(env.opts.seed, i, 'small'));
      delivered.set(uidNext + i, performance.now());
    }
    await until(`${count} messages stored (${label})`, () => [...delivered.keys()].every((uid) => seen.has(uid)), 5 * 60_000, 20);
  } finally {
    watching = false;
    await watcher;
    await stopRunner(runner);
  }
  const files = fs.readdirSync(newDir);
  if (files.length !== count) throw new Error(`${label}: ${files.length} files in new/ for ${count} messages (a duplicate or a loss)`);
  fs.rmSync(home, { recursive: true, force: true });
  return [...delivered].map(([uid, at]) => Math.max(0, seen.get(uid)! - at));
}

function delayRow(tool: string, samples: number[] | Error): Row {
  if (samples instanceof Error) return { tool, status: 'failed', note: samples.message, samples: [] };
  return { tool, status: 'ok', samples, messages: samples.length, extra: { 'p95 ms': Math.round(p95(samples)) } };
}

function p95Target(section: Section, tool: string, limitMs: number): Target {
  const text = `Push: new mail stored within ${limitMs / 1000} s of its delivery (95th percentile)`;
  const row = section.rows.find((r) => r.tool === tool && r.status === 'ok');
  if (!row) return unjudged('push-delay', text, 'push row not measured');
  const value = p95(row.samples);
  const met = value <= limitMs;
  return { key: 'push-delay', text, met, measured: `${Math.round(value)} ms (median ${Math.round(median(row.samples))} ms)`, gap: met ? undefined : `${Math.round(value - limitMs)} ms over` };
}

export async function pushDelaySection(env: BenchEnv): Promise<Section> {
  const count = env.opts.pushN;
  const pollMs = env.opts.pushPollS * 1000;
  const pushTool = 'mailbox run (push)';
  const pollTool = `mailbox run --no-push --read-interval ${env.opts.pushPollS}s`;
  const run = async (label: string, args: string[], gapMs: number) => delays(env, label, args, count, gapMs).catch((err: Error) => err);
  // The same number of messages for both; deliveries spread over about two poll intervals for the poll.
  const push = await run('push', ['--read-interval', '1h'], 400);
  env.log(`push: ${count} messages with push measured`);
  const poll = await run('poll', ['--no-push', '--read-interval', `${env.opts.pushPollS}s`], (2 * pollMs) / count);
  env.log(`push: ${count} messages with the poll measured`);
  const section = summarize({
    id: 'push',
    title: 'Push: delay from delivery to the file in new/',
    setup:
      `${count} small messages delivered one by one (\`doveadm save\`) at random gaps into an IMAP INBOX that a running \`mailbox run\` reads over TLS; ` +
      `the delay of each runs from the moment doveadm returned to the moment its file appears in new/ (new/ scanned every 5 ms). ` +
      `With push (IMAP IDLE, read interval 1 h so only push counts) the gaps average 400 ms; with the poll only (--no-push) they are spread over about two read intervals of ${env.opts.pushPollS} s ` +
      `(the default interval is 2 min, whose delays are four times as long).`,
    metric: { name: 'delay (median)', unit: 'ms' },
    perMessage: false,
    ratio: { base: pushTool, meaning: 'times the delay with push' },
    extraColumns: ['p95 ms'],
    rows: [delayRow(pushTool, push), delayRow(pollTool, poll)],
    targets: [],
    notes: [],
  });
  section.targets = [p95Target(section, pushTool, 2000)];
  return section;
}

/** Established client connections to this loopback port (/proc/net/tcp: remote address, then state 01). */
function established(port: number): number {
  const remote = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return fs
    .readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => {
      const [, , rem, st] = line.trim().split(/\s+/);
      return rem?.endsWith(remote) && st === '01';
    }).length;
}

/** CPU seconds (user + system) of a process so far, and its resident set in MB. */
function usage(pid: number): { cpu: number; rssMb: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { cpu: (Number(fields[11]) + Number(fields[12])) / 100, rssMb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024 };
}

export async function pushIdleSection(env: BenchEnv): Promise<Section> {
  const n = env.opts.pushAccounts;
  // A full run measures over three minutes: every watching connection's keepalive (a NOOP every 2.5 min) falls in it.
  const windowS = env.opts.smoke ? 5 : 180;
  const tool = `mailbox run watching ${n} idle IMAP accounts`;
  let row: Row;
  let dovecot: Dovecot | undefined;
  try {
    // A Dovecot of its own that serves that many connections of one user (each account a folder of its own).
    dovecot = await startDovecot({ certs: env.certs, maxConnections: 2 * n + 50 });
    const folders = Array.from({ length: n }, (_, i) => `W${i}`);
    await dovecot.doveadm(['mailbox', 'create', '-u', 'bob', ...folders]);
    const home = env.fresh('push-idle');
    await applyAccounts(env, home, folders.map((f, i) => ({ name: `idle-${i}`, type: 'imap' as const, port: dovecot!.imapsPort, user: 'bob' })));
    // applyAccounts has no folder field: set each account's folder in the config it wrote.
    const configFile = path.join(home, 'config.json');
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as { accounts: Array<{ folder?: string }> };
    config.accounts.forEach((a, i) => (a.folder = folders[i]));
    fs.writeFileSync(configFile, JSON.stringify(config));
    const runner = startRunner(home, ['--read-interval', '1h'], 'bob');
    try {
      await until(`${n} accounts watching`, () => Object.values(pushStates(home)).filter((p) => p.state === 'watching').length === n, 5 * 60_000, 200);
      await sleep(3000); // the first reads' connections close
      const a = usage(runner.pid!);
      const t0 = performance.now();
      await sleep(windowS * 1000);
      const b = usage(runner.pid!);
      const cpuPct = ((b.cpu - a.cpu) / ((performance.now() - t0) / 1000)) * 100;
      const connections = established(dovecot.imapsPort);
      row = { tool, status: 'ok', samples: [b.rssMb], extra: { 'CPU % of a core': Number(cpuPct.toFixed(2)), connections } };
      env.log(`push: ${n} idle accounts: CPU ${cpuPct.toFixed(2)}% of a core over ${windowS} s, RSS ${b.rssMb.toFixed(0)} MB, ${connections} connections`);
    } finally {
      await stopRunner(runner);
      fs.rmSync(home, { recursive: true, force: true });
    }
  } catch (err) {
    row = { tool, status: 'failed', note: (err as Error).message, samples: [] };
  } finally {
    await dovecot?.stop();
  }
  const section = summarize({
    id: 'push',
    title: `Push: a runner watching ${n} idle accounts`,
    setup:
      `${n} IMAP accounts (one user, a folder each, TLS) watched by one \`mailbox run\` (default keepalive: a NOOP every 2.5 min); ` +
      `once every account is watching, the runner's CPU time is measured over ${windowS} s of no mail (a full run: one keepalive round of every connection included), and its resident set at the end. ` +
      `Connections: established client connections to the server's port (one per account).`,
    metric: { name: 'RSS', unit: 'MB' },
    perMessage: false,
    extraColumns: ['CPU % of a core', 'connections'],
    rows: [row],
    targets: [],
    notes: [],
  });
  const text = `Push: ${n} watched idle accounts keep the runner near idle (under 2% of a core) on ${n} connections`;
  const cpu = Number(row.extra?.['CPU % of a core']);
  const conns = Number(row.extra?.connections);
  section.targets = [
    row.status !== 'ok'
      ? unjudged('push-idle-cpu', text, 'not measured')
      : { key: 'push-idle-cpu', text, met: cpu < 2 && conns === n, measured: `${cpu}% of a core, ${conns} connections, ${row.samples[0]!.toFixed(0)} MB RSS`, gap: cpu < 2 && conns === n ? undefined : `${cpu}% CPU, ${conns} connections` },
  ];
  return section;
}
