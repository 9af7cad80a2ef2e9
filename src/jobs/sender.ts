// The sender: one cycle through the outbox over the active SMTP account's pooled connection.
// Messages are marked in flight a batch at a time, sent many at once over the one connection, and
// settled a batch at a time (moved to sent/failed/skipped, logged): two fsyncs per batch, not per
// message. A connection or login failure stops the cycle; what was tried then waits for its retry.
import type { Account } from '../core/account.js';
import { evaluateFilter, type AddressFilter } from '../core/filter.js';
import type { Outgoing } from '../protocols/types.js';
import type { Outcome, QueuedMessage, Queue } from '../store/queue.js';

const BATCH = 32;
const IN_FLIGHT = 16;

export interface SendSummary {
  sent: number;
  failed: number;
  retrying: number;
  ignored: number;
  /** Blocked recipients dropped by the outbound filter ("address (filter NAME)"). */
  dropped: string[];
  /** Waiting in the outbox, not yet due (backing off). */
  waiting: number;
  /** The connection or login failure that stopped the cycle, if any. */
  failure?: unknown;
}

export interface SendDeps {
  queue: Queue;
  filter?: AddressFilter;
  clock: () => Date;
  signal?: AbortSignal;
  /** Opens the pooled connection (only when something is due). */
  connect: () => Promise<Outgoing>;
}

interface Planned {
  message: QueuedMessage;
  recipients: string[];
  dropped: string[];
}

function plan(message: QueuedMessage, filter: AddressFilter | undefined): Planned {
  const all = message.record.recipients?.length ? message.record.recipients : [...message.record.to, ...message.record.cc];
  const recipients: string[] = [];
  const dropped: string[] = [];
  for (const address of all) {
    if (filter && evaluateFilter(filter, address).blocked) dropped.push(address);
    else recipients.push(address);
  }
  return { message, recipients, dropped };
}

export async function sendQueue(account: Account, deps: SendDeps): Promise<SendSummary> {
  const summary: SendSummary = { sent: 0, failed: 0, retrying: 0, ignored: 0, dropped: [], waiting: 0 };
  const due = await deps.queue.due(deps.clock());
  const from = account.from ?? account.user ?? '';
  let outgoing: Outgoing | undefined;
  let connecting: Promise<Outgoing> | undefined;
  let stopped = false;
  const onAbort = () => {
    stopped = true;
  };
  deps.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (let start = 0; start < due.length && !stopped && summary.failure === undefined; start += BATCH) {
      const batch = due.slice(start, start + BATCH).map((m) => plan(m, deps.filter));
      const now = deps.clock();
      await deps.queue.begin(
        batch.map((p) => p.message),
        now,
      );
      const results: Array<{ message: QueuedMessage; outcome: Outcome }> = [];
      const queue = [...batch];
      const worker = async () => {
        for (let p = queue.shift(); p; p = queue.shift()) {
          summary.dropped.push(...p.dropped.map((a) => `${a} (filter ${deps.filter?.name})`));
          if (p.recipients.length === 0) {
            results.push({ message: p.message, outcome: { kind: 'ignored', reason: `every recipient is blocked by filter ${deps.filter?.name}: ${p.dropped.join(', ')}` } });
            continue;
          }
          if (stopped || summary.failure !== undefined) {
            results.push({ message: p.message, outcome: { kind: 'untried' } });
            continue;
          }
          let out: Outgoing;
          try {
            // One connection for the cycle, opened by whichever worker needs it first.
            connecting ??= deps.connect().then((o) => (outgoing = o));
            out = await connecting;
          } catch (err) {
            // Nothing reached a server (the secret, the TLS settings): the attempt does not count.
            summary.failure ??= err;
            results.push({ message: p.message, outcome: { kind: 'untried' } });
            continue;
          }
          try {
            const sent = await out.send(p.message.path, { from: from || p.message.record.from || '', to: p.recipients });
            const rejected = sent.rejected.length ? ` (refused for ${sent.rejected.join(', ')})` : '';
            results.push({ message: p.message, outcome: { kind: 'sent', reply: `${sent.reply}${rejected}`, account: account.name } });
          } catch (err) {
            const failure = out.classify(err);
            if (failure.connection) summary.failure ??= err;
            const outcome: Outcome = failure.permanent ? { kind: 'failed', error: failure.message } : { kind: 'retry', error: failure.message };
            results.push({ message: p.message, outcome });
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, batch.length) }, worker));
      const settled = await deps.queue.settle(results, deps.clock());
      settled.forEach((s, i) => {
        const kind = results[i]!.outcome.kind;
        if (kind === 'sent') summary.sent++;
        else if (kind === 'failed' || s.gaveUp) summary.failed++;
        else if (kind === 'retry') summary.retrying++;
        else if (kind === 'ignored') summary.ignored++;
      });
    }
  } finally {
    deps.signal?.removeEventListener('abort', onAbort);
    await outgoing?.close();
  }
  summary.waiting = (await deps.queue.waiting()).length;
  return summary;
}
