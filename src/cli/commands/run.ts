// mailbox run: the reader and sender loops in the foreground.
import type { Command } from 'commander';
import { invalid, MailboxError } from '../../core/errors.js';
import { parseDuration } from '../../core/validate.js';
import { action, collect, type ProgramEnv } from '../action.js';
import { dnsOf } from '../network.js';
import { progressLine, QuietCycles, reportLine } from '../run-output.js';
import { destinationsOf, openCommandStores } from '../stores.js';

interface RunFlags {
  once?: boolean;
  readInterval?: string;
  sendInterval?: string;
  account?: string[];
  logFormat?: string;
  metrics?: string;
  metricsPublic?: boolean;
  json?: boolean;
  push?: boolean;
  pushKeepalive?: string;
}

/** The keepalive of a push connection: a dead one is noticed within it; IDLE is re-issued every 25 minutes anyway. */
const KEEPALIVE_RANGE = { minMs: 2000, maxMs: 25 * 60_000 };

export function register(command: Command, penv: ProgramEnv): void {
  command
    .option('--once', 'one read cycle and one send cycle, then exit (0 when every account succeeded)')
    .option('--read-interval <duration>', 'time between read cycles', '2m')
    .option('--send-interval <duration>', 'time between send cycles', '1m')
    .option('--account <name>', 'only this account (repeat for several)', collect)
    .option('--log-format <format>', 'cycle lines as text or json', 'text')
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics (loopback only, unless --metrics-public)')
    .option('--metrics-public', 'allow --metrics on a non-loopback address (the metrics name your accounts; no authentication)')
    .option('--no-push', 'poll only: do not watch IMAP accounts over IDLE in this run')
    .option('--push-keepalive <duration>', 'a dead push connection is noticed (and replaced) within this long', '5m')
    .addHelpText(
      'after',
      `
Push: every active IMAP account whose server offers IDLE is watched over one connection, and new
mail is read within about two seconds of its arrival; the read interval stays as the safety net.
Accounts with push turned off (edit --no-push), POP3 accounts and servers without IDLE are polled.

One line per account per cycle on stdout; a cycle that did nothing and would print the same line
as the last one is not printed (except once an hour, with how many were left out): text and json
alike. SIGINT/SIGTERM stop after the message in flight (exit 0);
a second signal exits at once, losing nothing. One runner per store: a second one exits 75 (on a
database store each runner is a worker of a fleet instead, see the README's "Running a fleet").
With --once the exit code is that of the first account that failed (69 unreachable, 75 temporary,
76 TLS/protocol, 77 authentication, 78 configuration), else 0.

Examples:
  $ mailbox run                              # until stopped: read every 2m, send every 1m
  $ mailbox run --once                       # for cron and CI
  $ mailbox run --read-interval 30s --account work-imap --account work-smtp
  $ mailbox run --log-format json | jq .
  $ mailbox run --metrics 127.0.0.1:9464                # scrape http://127.0.0.1:9464/metrics`,
    )
    .action(
      action<RunFlags>(penv, async (ctx, opts) => {
        const readIntervalMs = parseDuration(opts.readInterval, 'read-interval');
        const sendIntervalMs = parseDuration(opts.sendInterval, 'send-interval');
        const keepaliveMs = parseDuration(opts.pushKeepalive, 'push-keepalive', KEEPALIVE_RANGE);
        const format = (opts.logFormat ?? 'text').toLowerCase();
        if (format !== 'text' && format !== 'json') throw invalid('log-format', opts.logFormat, 'text or json');
        const json = format === 'json' || Boolean(opts.json);
        if (opts.metricsPublic && opts.metrics === undefined) throw new MailboxError('EUSAGE', '--metrics-public goes with --metrics HOST:PORT');
        const metricsAt = opts.metrics === undefined ? undefined : (await import('../metrics-server.js')).parseMetricsAddress(opts.metrics, Boolean(opts.metricsPublic));
        const [{ Runner }, { protocolAdapters, debugLogs, resolvingWith }] = await Promise.all([import('../../jobs/runner.js'), import('../../jobs/protocol-adapters.js')]);
        const lookup = dnsOf(ctx.env).lookup;
        const stores = await openCommandStores(ctx);
        // MDA commands get this environment without the variables that hold secrets (as of the last snapshot).
        let latest: Awaited<ReturnType<typeof ctx.snapshot>> | undefined;
        const { secretFreeEnv } = await import('../../jobs/destinations.js');
        const destinations = destinationsOf(() => secretFreeEnv(ctx.io.env, latest?.accounts ?? [], latest?.profiles ?? []), lookup);
        const progress = progressLine(ctx.io.stderr);
        const monotonic = () => performance.now();
        const quiet = new QuietCycles(monotonic);
        const stop = new AbortController();
        let signals = 0;
        const onSignal = (signal: NodeJS.Signals) => {
          signals++;
          progress?.clear();
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
        let metrics: Awaited<ReturnType<typeof import('../../jobs/metrics.js').createRunnerMetrics>> | undefined;
        let metricsServer: { close: () => Promise<void> } | undefined;
        try {
          if (metricsAt) {
            const [{ createRunnerMetrics }, { serveMetrics }] = await Promise.all([import('../../jobs/metrics.js'), import('../metrics-server.js')]);
            metrics = await createRunnerMetrics(stores.queue);
            const served = await serveMetrics(metrics, metricsAt);
            metricsServer = served;
            ctx.out.info(`metrics at ${served.url}`);
          }
          const runner = new Runner({
            stores,
            snapshot: async () => (latest = await ctx.snapshot()),
            secrets: ctx.secrets,
            tokens: (await import('../oauth-wiring.js')).tokenManagerOf(ctx),
            adapters: resolvingWith(protocolAdapters, lookup),
            debugLog: debugLogs(ctx.paths.logDir),
            clock: ctx.now,
            monotonic,
            report: (r) => {
              metrics?.observe(r);
              const repeats = quiet.admit(r);
              if (repeats === undefined) return;
              progress?.clear();
              ctx.io.stdout.write(`${reportLine(r, json, repeats)}\n`);
            },
            notice: (text) => {
              progress?.clear();
              ctx.out.warn(text);
            },
            progress: progress ? (account, p) => progress.update(account, p) : undefined,
            pushConnections: (account, open) => metrics?.pushConnections(account, open),
            openTarget: destinations.open,
          });
          return await runner.run({
            once: Boolean(opts.once),
            readIntervalMs,
            sendIntervalMs,
            accounts: opts.account ?? [],
            signal: stop.signal,
            pid: process.pid,
            push: { enabled: opts.push !== false, settings: { keepaliveMs } },
          });
        } finally {
          progress?.clear();
          await metricsServer?.close();
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
