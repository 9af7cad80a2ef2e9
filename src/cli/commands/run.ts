// mailbox run: the reader and sender loops in the foreground.
import type { Command } from 'commander';
import { invalid } from '../../core/errors.js';
import { parseDuration } from '../../core/validate.js';
import type { CycleReport } from '../../jobs/cycles.js';
import { action, collect, type ProgramEnv } from '../action.js';
import { errorJson } from '../hints.js';
import type { Context } from '../context.js';
import { dnsOf } from '../network.js';
import { openCommandStores } from '../stores.js';
import { localTime } from '../time.js';

interface RunFlags {
  once?: boolean;
  readInterval?: string;
  sendInterval?: string;
  account?: string[];
  logFormat?: string;
  json?: boolean;
}

/** One line per account per cycle on stdout: text, or a JSON object per line. */
function reportLine(report: CycleReport, json: boolean): string {
  if (json) {
    return JSON.stringify({
      time: report.time,
      job: report.job,
      account: report.account,
      ok: report.ok,
      durationMs: report.durationMs,
      ...report.counts,
      summary: report.summary,
      error: report.error ? errorJson(report.error) : null,
      notes: report.notes,
    });
  }
  const seconds = (report.durationMs / 1000).toFixed(2);
  const head = `${localTime(report.time)} ${report.job.padEnd(4)} ${report.account}`;
  const lines = [`${head}: ${report.ok ? '' : 'FAILED: '}${report.summary} (${seconds}s)`];
  for (const note of report.notes) lines.push(`${head}: note: ${note}`);
  return lines.join('\n');
}

/** "read work-imap 1234/5000" on one terminal line, redrawn at most 5 times a second. */
function progressIndicator(ctx: Context) {
  const stderr = ctx.io.stderr;
  if (!stderr.isTTY) return undefined;
  let last = 0;
  let shown = false;
  return {
    update(account: string, done: number, total: number) {
      if (total < 200) return;
      const now = Date.now();
      if (done < total && now - last < 200) return;
      last = now;
      shown = true;
      stderr.write(`\r\x1b[Kread ${account}: ${done}/${total} messages`);
    },
    clear() {
      if (shown) stderr.write('\r\x1b[K');
      shown = false;
    },
  };
}

export function register(command: Command, penv: ProgramEnv): void {
  command
    .option('--once', 'one read cycle and one send cycle, then exit (0 when every account succeeded)')
    .option('--read-interval <duration>', 'time between read cycles', '2m')
    .option('--send-interval <duration>', 'time between send cycles', '1m')
    .option('--account <name>', 'only this account (repeat for several)', collect)
    .option('--log-format <format>', 'cycle lines as text or json', 'text')
    .addHelpText(
      'after',
      `
One line per account per cycle on stdout. SIGINT/SIGTERM stop after the message in flight (exit 0);
a second signal exits at once, losing nothing. One runner per store: a second one exits 75.
With --once the exit code is that of the first account that failed (69 unreachable, 75 temporary,
76 TLS/protocol, 77 authentication, 78 configuration), else 0.

Examples:
  $ mailbox run                              # until stopped: read every 2m, send every 1m
  $ mailbox run --once                       # for cron and CI
  $ mailbox run --read-interval 30s --account work-imap --account work-smtp
  $ mailbox run --log-format json | jq .`,
    )
    .action(
      action<RunFlags>(penv, async (ctx, opts) => {
        const readIntervalMs = parseDuration(opts.readInterval, 'read-interval');
        const sendIntervalMs = parseDuration(opts.sendInterval, 'send-interval');
        const format = (opts.logFormat ?? 'text').toLowerCase();
        if (format !== 'text' && format !== 'json') throw invalid('log-format', opts.logFormat, 'text or json');
        const json = format === 'json' || Boolean(opts.json);
        const [{ Runner }, { protocolAdapters, debugLogs, resolvingWith }] = await Promise.all([import('../../jobs/runner.js'), import('../../jobs/protocol-adapters.js')]);
        const lookup = dnsOf(ctx.env).lookup;
        const stores = await openCommandStores(ctx);
        const progress = progressIndicator(ctx);
        const stop = new AbortController();
        let signals = 0;
        const onSignal = (signal: NodeJS.Signals) => {
          signals++;
          if (signals === 1) {
            ctx.out.info(`${signal}: stopping after the message in flight (again to exit at once)`);
            stop.abort();
            return;
          }
          // Every step is durable before the next starts: exiting now loses nothing. The lock stays,
          // so the next runner checks what this one was doing.
          process.exit(signal === 'SIGINT' ? 130 : 143);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        try {
          const runner = new Runner({
            stores,
            snapshot: () => ctx.snapshot(),
            secrets: ctx.secrets,
            tokens: (await import('../oauth-wiring.js')).tokenManagerOf(ctx),
            adapters: resolvingWith(protocolAdapters, lookup),
            debugLog: debugLogs(ctx.paths.logDir),
            clock: ctx.now,
            monotonic: () => performance.now(),
            report: (r) => {
              progress?.clear();
              ctx.io.stdout.write(`${reportLine(r, json)}\n`);
            },
            notice: (text) => {
              progress?.clear();
              ctx.out.warn(text);
            },
            progress: progress ? (account, done, total) => progress.update(account, done, total) : undefined,
          });
          return await runner.run({ once: Boolean(opts.once), readIntervalMs, sendIntervalMs, accounts: opts.account ?? [], signal: stop.signal });
        } finally {
          progress?.clear();
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          await stores.close();
          // Everything is saved and closed by now, whatever the way out; should a library still hold
          // a socket or timer open, do not let it keep a finished runner alive.
          setTimeout(() => process.exit(), 3000).unref();
        }
      }),
    );
}
