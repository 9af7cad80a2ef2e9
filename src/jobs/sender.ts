// The sender: one cycle through the outbox over the active SMTP account's pooled connection.
// Messages are marked in flight a batch at a time, sent many at once over the one connection, and
// settled a batch at a time (moved to sent/failed/skipped, logged): a few fsyncs per batch, not per
// message. A connection or login failure stops the cycle; what was tried then waits for its retry.
import type { Account } from '../core/account.js';
import { evaluateFilter, type AddressFilter } from '../core/filter.js';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Outgoing, OutgoingMessage } from '../protocols/types.js';
import type { Outcome, QueuedMessage, Queue, Settled } from '../store/queue.js';

const BATCH = 64;
/** Messages up to this size are read whole before sending; larger ones are streamed from their file. */
const READ_WHOLE = 1024 * 1024;

// Interim: the queue will hand the content over itself (the store interface must not leak paths).
function messageContent(path: string): OutgoingMessage {
  return {
    size: 0,
    async content() {
      const { size } = await stat(path);
      return size <= READ_WHOLE ? readFile(path) : createReadStream(path);
    },
  };
}
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

type Result = { message: QueuedMessage; outcome: Outcome };

export async function sendQueue(account: Account, deps: SendDeps): Promise<SendSummary> {
  const summary: SendSummary = { sent: 0, failed: 0, retrying: 0, ignored: 0, dropped: [], waiting: 0 };
  const due = (await deps.queue.due(deps.clock())).map((m) => plan(m, deps.filter));
  const from = account.from ?? account.user ?? '';
  let outgoing: Outgoing | undefined;
  let connecting: Promise<Outgoing> | undefined;
  let stopped = false;
  const onAbort = () => {
    stopped = true;
  };
  deps.signal?.addEventListener('abort', onAbort, { once: true });

  // Three things overlap so the connection never waits for the disk: the next batch is marked in
  // flight while this one is sent, and results are settled in batches while sending goes on.
  const batches: Planned[][] = [];
  for (let i = 0; i < due.length; i += BATCH) batches.push(due.slice(i, i + BATCH));
  const begun: Array<Promise<void> | undefined> = [];
  let beginChain: Promise<void> = Promise.resolve();
  const begin = (b: number): Promise<void> | undefined => {
    if (b >= batches.length || stopped || summary.failure !== undefined) return begun[b];
    return (begun[b] ??= beginChain = beginChain.then(() =>
      deps.queue.begin(
        batches[b]!.map((p) => p.message),
        deps.clock(),
      ),
    ));
  };
  // Each outcome is placed at once (a message the server took leaves the outbox right away, so a
  // kill resends only what was in flight); the log and the folder fsync follow per batch.
  let placed: Array<{ kind: Outcome['kind']; settled: Promise<Settled> }> = [];
  let commitChain: Promise<void> = Promise.resolve();
  const commit = () => {
    const batch = placed;
    placed = [];
    if (batch.length === 0) return;
    commitChain = commitChain.then(async () => {
      const settled = await Promise.all(batch.map((p) => p.settled));
      await deps.queue.commit(settled);
      settled.forEach((s, i) => {
        const kind = batch[i]!.kind;
        if (kind === 'sent') summary.sent++;
        else if (kind === 'failed' || s.gaveUp) summary.failed++;
        else if (kind === 'retry') summary.retrying++;
        else if (kind === 'ignored') summary.ignored++;
      });
    });
  };
  const record = (result: Result) => {
    const settled = deps.queue.place(result.message, result.outcome, deps.clock());
    settled.catch(() => undefined); // surfaces through commit()
    placed.push({ kind: result.outcome.kind, settled });
    if (placed.length >= BATCH) commit();
  };

  const connection = async (): Promise<Outgoing> => {
    // One connection for the cycle, opened by whichever send needs it first.
    connecting ??= deps.connect().then((o) => (outgoing = o));
    return connecting;
  };

  const sendOne = async (p: Planned): Promise<void> => {
    summary.dropped.push(...p.dropped.map((a) => `${a} (filter ${deps.filter?.name})`));
    if (p.recipients.length === 0) {
      record({ message: p.message, outcome: { kind: 'ignored', reason: `every recipient is blocked by filter ${deps.filter?.name}: ${p.dropped.join(', ')}` } });
      return;
    }
    if (stopped || summary.failure !== undefined) {
      record({ message: p.message, outcome: { kind: 'untried' } });
      return;
    }
    let out: Outgoing;
    try {
      out = await connection();
    } catch (err) {
      // Nothing reached a server (the secret, the TLS settings): the attempt does not count.
      summary.failure ??= err;
      record({ message: p.message, outcome: { kind: 'untried' } });
      return;
    }
    try {
      const sent = await out.send(messageContent(p.message.path), { from: from || p.message.record.from || '', to: p.recipients });
      const rejected = sent.rejected.length ? ` (refused for ${sent.rejected.join(', ')})` : '';
      record({ message: p.message, outcome: { kind: 'sent', reply: `${sent.reply}${rejected}`, account: account.name } });
    } catch (err) {
      const failure = out.classify(err);
      if (failure.connection) summary.failure ??= err;
      record({ message: p.message, outcome: failure.permanent ? { kind: 'failed', error: failure.message } : { kind: 'retry', error: failure.message } });
    }
  };

  let next = 0;
  const worker = async () => {
    while (next < due.length) {
      const index = next++;
      const b = Math.floor(index / BATCH);
      const marked = begin(b);
      begin(b + 1); // mark the next batch while this one is sent
      if (!marked) return; // stopped before this batch was marked: it stays as it was
      await marked;
      await sendOne(due[index]!);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, due.length) }, worker));
    await beginChain;
    // Marked in flight but never reached by a worker (a stop or a failure came first).
    for (let b = 0; b < batches.length; b++) {
      if (!begun[b]) continue;
      for (let i = b * BATCH; i < Math.min(due.length, (b + 1) * BATCH); i++) if (i >= next) record({ message: due[i]!.message, outcome: { kind: 'untried' } });
    }
    commit();
    await commitChain;
  } finally {
    deps.signal?.removeEventListener('abort', onAbort);
    await outgoing?.close();
  }
  summary.waiting = (await deps.queue.waiting()).length;
  return summary;
}
