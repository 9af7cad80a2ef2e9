// Prometheus metrics of a runner (prom-client: the text format, histograms and registry are the
// library's, never hand-written). Counters follow the cycle reports; the queue, the runner and the
// pause switches are read when scraped. prom-client is loaded only by `run --metrics`.
import type { CycleReport } from './cycles.js';
import type { Queue } from '../store/types.js';

type Prom = typeof import('prom-client');

/** Cycle durations, in seconds: from a quiet poll to a large download. */
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export interface RunnerMetrics {
  /** The registry's text (Prometheus exposition format) and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>;
  observe(report: CycleReport): void;
  /** Open push (IMAP IDLE) connections of an account: fed by the push watchers (0 for an account polled only). */
  pushConnections(account: string, open: number): void;
}

export async function createRunnerMetrics(queue: Pick<Queue, 'waiting'>): Promise<RunnerMetrics> {
  const prom: Prom = await import('prom-client');
  const registry = new prom.Registry();
  const counter = (name: string, help: string) => new prom.Counter({ name, help, labelNames: ['account'], registers: [registry] });
  const received = counter('mailbox_messages_received_total', 'Messages read and stored in the inbox');
  const ignored = counter('mailbox_messages_ignored_total', 'Messages stored as skipped: sender blocked, or an inbound guard (incoming); every recipient blocked (outgoing)');
  const sent = counter('mailbox_messages_sent_total', 'Messages the SMTP server took');
  const failed = counter('mailbox_messages_failed_total', 'Messages that failed for good (5xx, or retries used up)');
  const retried = counter('mailbox_messages_retried_total', 'Sends refused for now (4xx): retried with back-off');
  const bytes = new prom.Counter({ name: 'mailbox_bytes_total', help: 'Bytes of messages stored (read) or taken by the server (send)', labelNames: ['account', 'job'], registers: [registry] });
  const cycles = new prom.Counter({ name: 'mailbox_cycles_total', help: 'Read and send cycles, by result', labelNames: ['account', 'job', 'result'], registers: [registry] });
  const duration = new prom.Histogram({ name: 'mailbox_cycle_duration_seconds', help: 'How long a read or send cycle took', labelNames: ['account', 'job'], buckets: DURATION_BUCKETS, registers: [registry] });
  const lastSuccess = new prom.Gauge({ name: 'mailbox_last_success_timestamp_seconds', help: 'When the last successful cycle of the account ended (Unix time)', labelNames: ['account', 'job'], registers: [registry] });
  const push = new prom.Gauge({ name: 'mailbox_push_connections', help: 'Open push (IMAP IDLE) connections', labelNames: ['account'], registers: [registry] });
  const paused = new prom.Gauge({ name: 'mailbox_paused', help: '1 while the pause switch of the job is on (settings reading/sending)', labelNames: ['job'], registers: [registry] });
  for (const job of ['reading', 'sending']) paused.set({ job }, 0);
  new prom.Gauge({ name: 'mailbox_runner_up', help: '1 while the runner runs', registers: [registry] }).set(1);
  new prom.Gauge({
    name: 'mailbox_queue_messages',
    help: 'Outgoing messages waiting in the outbox, by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const waiting = await queue.waiting();
      this.reset();
      for (const state of ['send-ready', 'send-retry-backoff']) this.set({ state }, waiting.filter((r) => r.state === state).length);
    },
  });
  prom.collectDefaultMetrics({ register: registry, prefix: 'mailbox_' });

  return {
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    observe(report) {
      for (const job of ['reading', 'sending'] as const) paused.set({ job }, report.paused?.includes(job) ? 1 : 0);
      // A paused cycle did nothing: it is no cycle of the account.
      if (report.pausedCycle) return;
      const account = report.account;
      const n = (key: string) => report.counts[key] ?? 0;
      if (report.job === 'read') received.inc({ account }, n('received'));
      else {
        sent.inc({ account }, n('sent'));
        failed.inc({ account }, n('failed'));
        retried.inc({ account }, n('retrying'));
      }
      ignored.inc({ account }, n('ignored'));
      bytes.inc({ account, job: report.job }, n('bytes'));
      cycles.inc({ account, job: report.job, result: report.ok ? 'ok' : 'failed' });
      duration.observe({ account, job: report.job }, report.durationMs / 1000);
      if (report.ok) lastSuccess.set({ account, job: report.job }, Date.parse(report.time) / 1000);
    },
    pushConnections(account, open) {
      push.set({ account }, open);
    },
  };
}
