// mailbox status: per account the last cycle and its result, the queue, whether a runner runs, what
// is paused or redirected; --check for monitoring (one line, an exit code), --watch for a live screen.
import type { Command } from 'commander';
import { MailboxError } from '../../core/errors.js';
import { parseAge, pausedJobs, settingsOf, type Settings } from '../../core/settings.js';
import { parseDuration } from '../../core/validate.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';
import { reportProblems } from '../problems.js';
import { localTime } from '../time.js';
import { openCommandStores } from '../stores.js';
import type { AccountsSnapshot } from '../../jobs/accounts/stores.js';
import type { EmailRecord, FleetView, PushStatus, RunStatus, Stores } from '../../store/types.js';

interface StatusFlags {
  check?: boolean;
  maxReadAge?: string;
  maxQueueAge?: string;
  watch?: boolean;
  interval?: string;
}

/** Everything status shows, read at one moment. */
interface Reading {
  snapshot: AccountsSnapshot;
  status: RunStatus;
  waiting: EmailRecord[];
  pid: number | null;
  settings: Settings;
  /** A fleet (the database store): its workers and who holds each account's lease. */
  fleet: FleetView | undefined;
  /** Hand-offs to each account's destination (issue 13) by lower-cased name, read only when some account has one. */
  handOffs: Record<string, { pending: number; failed: number }>;
}

async function read(ctx: Context, stores: Stores): Promise<Reading> {
  const [snapshot, status, waiting, pid, fleet] = await Promise.all([ctx.snapshot(), stores.status.load(), stores.queue.waiting(), stores.lock.holder(), stores.lock.fleet?.()]);
  const handOffs = snapshot.accounts.some((a) => a.deliver) ? await stores.handoffs.counts() : {};
  return { snapshot, status, waiting, pid, settings: settingsOf(snapshot.config.settings), fleet, handOffs };
}

function statusJson({ snapshot, status, waiting, pid, settings, fleet, handOffs }: Reading) {
  const workerOf = (name: string) => fleet?.holders[name.toLowerCase()] ?? null;
  const beat = status.runner && status.runner.pid === pid ? status.runner : undefined;
  return {
    runner: { running: pid !== null, pid },
    heartbeat: { startedAt: beat?.startedAt ?? null, at: beat?.heartbeatAt ?? null },
    queue: {
      waiting: waiting.length,
      ready: waiting.filter((r) => r.state === 'send-ready').length,
      retrying: waiting.filter((r) => r.state === 'send-retry-backoff').length,
    },
    paused: pausedJobs(settings),
    redirectTo: settings.redirectTo,
    accounts: snapshot.accounts.map((a) => {
      const s = status.accounts[a.name.toLowerCase()];
      return {
        name: a.name,
        type: a.type,
        active: a.active,
        job: s?.job ?? null,
        at: s?.at ?? null,
        ok: s?.ok ?? null,
        summary: s?.summary ?? null,
        error: s?.error ?? null,
        lastSuccessAt: s?.lastSuccessAt ?? null,
        lastError: s?.lastError ?? null,
        // The runner clears it when it stops; one killed leaves it behind, which a stopped runner makes moot.
        push: pid !== null ? pushJson(status.push?.[a.name.toLowerCase()]) : null,
        handOff: a.deliver || handOffs[a.name.toLowerCase()] ? { dest: a.deliver ?? null, ...(handOffs[a.name.toLowerCase()] ?? { pending: 0, failed: 0 }) } : null,
        ...(fleet && a.type !== 'smtp' ? { worker: workerOf(a.name) } : {}),
      };
    }),
    ...(fleet ? { workers: fleet.workers } : {}),
  };
}

/** The lines about the switches: what is paused, where mail is redirected. */
function switchLines(json: ReturnType<typeof statusJson>): string[] {
  return [
    ...(json.paused.length ? [`paused: ${json.paused.join(' and ')} (mailbox resume ${json.paused.length === 2 ? 'all' : json.paused[0]})`] : []),
    ...(json.redirectTo ? [`redirect: every outgoing message goes to ${json.redirectTo} only (setting redirect-to)`] : []),
  ];
}

const shortId = (id: string | null | undefined) => (id ? id.slice(0, 8) : '-');

function runnerLine(json: ReturnType<typeof statusJson>): string {
  if (json.runner.pid === null) return 'runner: not running';
  if (json.workers) return `runner: ${json.workers.filter((w) => w.alive).length} worker(s)`;
  return `runner: running (pid ${json.runner.pid}${json.heartbeat.at ? `, heartbeat ${localTime(json.heartbeat.at)}` : ''})`;
}

function queueLine(json: ReturnType<typeof statusJson>): string {
  return `queue: ${json.queue.waiting} waiting (${json.queue.ready} ready, ${json.queue.retrying} retrying later)`;
}

async function show(ctx: Context, stores: Stores): Promise<number> {
  const reading = await read(ctx, stores);
  const json = statusJson(reading);
  ctx.out.data(json, () => {
    // Push states exist only while a runner runs: without one, the column would say nothing.
    const withPush = json.accounts.some((a) => a.push !== null);
    const rows = json.accounts.map((a) => [
      a.name,
      a.type,
      a.active ? 'yes' : 'no',
      a.at ? `${a.job} ${localTime(a.at)}` : 'never',
      a.ok === null ? '-' : a.ok ? 'ok' : 'FAILED',
      a.lastSuccessAt ? localTime(a.lastSuccessAt) : a.at ? 'never' : '-',
      ...(json.workers ? [a.type === 'smtp' ? '-' : shortId(a.worker)] : []),
      ...(withPush ? [pushCell(a.push)] : []),
      a.error ?? a.summary ?? '-',
    ]);
    const columns = [
      { header: 'ACCOUNT' },
      { header: 'TYPE', drop: 1 },
      { header: 'ACTIVE', drop: 2 },
      { header: 'LAST' },
      { header: 'RESULT' },
      { header: 'LAST SUCCESS', drop: 3 },
      ...(json.workers ? [{ header: 'WORKER', drop: 4 }] : []),
      ...(withPush ? [{ header: 'PUSH', shrink: true }] : []),
      { header: 'DETAIL', shrink: true },
    ];
    const workerLines = (json.workers ?? []).map(
      (w) => `worker ${shortId(w.id)}: pid ${w.pid} on ${w.host}, started ${localTime(w.startedAt)}, last heartbeat ${localTime(w.heartbeat)}${w.alive ? '' : ' (dead)'}`,
    );
    const handOffLines = json.accounts.flatMap((a) => (a.handOff ? [`hand-off ${a.name} -> ${a.handOff.dest ?? '(no destination now)'}: ${a.handOff.pending} pending, ${a.handOff.failed} failed`] : []));
    return [runnerLine(json), ...workerLines, queueLine(json), ...switchLines(json), ...(rows.length ? ['', ctx.out.table(columns, rows)] : []), ...(handOffLines.length ? ['', ...handOffLines] : [])].join('\n');
  });
  return reportProblems(ctx.out, reading.snapshot.problems);
}

async function check(ctx: Context, stores: Stores, opts: StatusFlags): Promise<number> {
  const maxReadAgeMs = opts.maxReadAge === undefined ? undefined : parseAge(opts.maxReadAge, 'max-read-age', 1000);
  const maxQueueAgeMs = opts.maxQueueAge === undefined ? undefined : parseAge(opts.maxQueueAge, 'max-queue-age', 1000);
  const { checkHealth } = await import('../../jobs/health.js');
  const r = await read(ctx, stores);
  const health = checkHealth({ accounts: r.snapshot.accounts, problems: r.snapshot.problems, status: r.status, runnerPid: r.pid, waiting: r.waiting, settings: r.settings, now: ctx.now(), maxReadAgeMs, maxQueueAgeMs });
  ctx.out.data({ ok: health.ok, exitCode: health.exitCode, summary: health.summary, problems: health.problems, limits: health.limits, checkedAt: ctx.now().toISOString() }, () =>
    [health.summary, ...health.problems.map((p) => `${p.level === 'critical' ? 'CRITICAL' : 'WARNING'} (${p.exitCode}) ${p.message}`)].join('\n'),
  );
  return health.exitCode;
}

async function watch(ctx: Context, stores: Stores, opts: StatusFlags): Promise<number> {
  const intervalMs = parseDuration(opts.interval ?? '2s', 'interval');
  if (!ctx.io.stdout.isTTY || ctx.out.json) {
    throw new MailboxError('EUSAGE', 'status --watch redraws a terminal: stdout is not one', { hint: 'use mailbox status --json (or --check) in scripts' });
  }
  const { dashboard } = await import('../status-screen.js');
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The alternate screen: the dashboard is gone after Ctrl-C, the shell's scrollback is as it was.
  ctx.io.stdout.write('\x1b[?1049h\x1b[?25l');
  try {
    while (!stop.signal.aborted) {
      const reading = await read(ctx, stores);
      const lastHour = await mailInLastHour(stores, ctx.now());
      const json = statusJson(reading);
      const text = dashboard({ ...json, runnerLine: runnerLine(json), queueLine: queueLine(json), switches: switchLines(json), lastHour, now: ctx.now(), color: ctx.out.color, width: (ctx.io.stdout as { columns?: number }).columns ?? 80, intervalMs });
      ctx.io.stdout.write(`\x1b[H\x1b[2J${text}\n`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        stop.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  } finally {
    ctx.io.stdout.write('\x1b[?25h\x1b[?1049l');
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}

/** Messages per account that arrived or were sent in the last hour. */
async function mailInLastHour(stores: Stores, now: Date): Promise<Map<string, number>> {
  const since = new Date(now.getTime() - 3_600_000).toISOString();
  const counts = new Map<string, number>();
  for (const r of (await stores.log.readAll()).values()) {
    if (!r.account || r.updatedAt < since || !(r.state === 'received' || r.state === 'received-ignored' || r.state === 'sent')) continue;
    const key = r.account.toLowerCase();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** An account's push state with every field, `folder` null where a runner before it was kept wrote none. */
function pushJson(push: PushStatus | undefined): PushStatus | null {
  return push ? { ...push, folder: push.folder ?? null } : null;
}

/** "watching since 10:00 (INBOX), last mail 10:05, 2 reconnects", "poll: the server does not offer IDLE", or "-". */
function pushCell(push: PushStatus | null): string {
  if (!push) return '-';
  if (push.mode === 'poll') return `poll: ${push.reason ?? ''}`;
  const watching = push.state === 'watching' && push.since ? `watching since ${localTime(push.since)}${push.folder ? ` (${push.folder})` : ''}` : undefined;
  const parts = [watching ?? `${push.state ?? 'connecting'}${push.reason ? ` (${push.reason})` : ''}`];
  if (push.lastEventAt) parts.push(`last mail ${localTime(push.lastEventAt)}`);
  if (push.reconnects) parts.push(`${push.reconnects} reconnect${push.reconnects === 1 ? '' : 's'}`);
  return parts.join(', ');
}

export function register(command: Command, penv: ProgramEnv): void {
  command
    .option('--check', 'for monitoring: one line, exit 0 when mail flows; else each problem, exit 75 (warning) or 69/77/78')
    .option('--max-read-age <age>', 'with --check: an account whose last successful read is older is a problem (default: 3 read intervals)')
    .option('--max-queue-age <age>', 'with --check: queued mail older than this is a problem (default 1h)')
    .option('--watch', 'redraw a live dashboard on the terminal until Ctrl-C')
    .option('--interval <duration>', 'with --watch: time between redraws', '2s')
    .addHelpText(
      'after',
      `
JSON: {runner: {running, pid}, heartbeat: {startedAt, at}, queue: {waiting, ready, retrying}, paused, redirectTo, accounts: [{name, type, active, job, at, ok, summary, error, lastSuccessAt, lastError, push}]}
push (incoming accounts of a running runner, else null): {mode: push|poll, state: connecting|watching|reconnecting|null,
since, lastEventAt, reconnects, reason, folder (the folder watched, else null)}
--check --json: {ok, exitCode, summary, problems: [{kind, level, account, message, exitCode}], limits, checkedAt}

--check exit codes: 0 mail flows; 75 warnings only (paused, reading slow, mail queued long);
69 the runner is not running or hangs, or an account cannot be reached; 77 an account needs
authorization (its login is refused); 78 an account's configuration is wrong. The worst wins,
in that order: runner, configuration, authorization, unreachable.
handOff on incoming accounts: {dest, pending, failed} | null (received mail waiting for, or refused by, the account's --deliver destination)
On a database store (a fleet) also workers: [{id, host, pid, startedAt, heartbeat, alive}], and per
incoming account worker: the id of the worker holding its lease (null: none now).

Examples:
  $ mailbox status
  $ mailbox status --json
  $ mailbox status --check --max-read-age 15m        # cron, systemd timers, monitoring agents
  $ mailbox status --watch --interval 5s`,
    )
    .action(
      action<StatusFlags>(penv, async (ctx, opts) => {
        if (opts.check && opts.watch) throw new MailboxError('EUSAGE', '--check and --watch do not go together');
        if (!opts.check && (opts.maxReadAge !== undefined || opts.maxQueueAge !== undefined)) throw new MailboxError('EUSAGE', '--max-read-age and --max-queue-age go with --check');
        // The action closes the stores.
        const stores = await openCommandStores(ctx);
        if (opts.check) return check(ctx, stores, opts);
        if (opts.watch) return watch(ctx, stores, opts);
        return show(ctx, stores);
      }),
    );
}
