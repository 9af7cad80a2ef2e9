// The sender: one cycle through the outbox over the active SMTP account's pooled connection.
// Messages are claimed from the queue a batch at a time (marked in flight, durably), sent many at
// once over the one connection, and settled a batch at a time (moved to sent/failed/skipped, logged):
// a few fsyncs per batch, not per message. A connection or login failure stops the cycle; what was
// claimed and not tried then goes back as it was. Each attempt records what it did with the queued
// recipients: the envelope the server accepted, those the outbound filter dropped, those it refused.
import { senderAddress, type Account } from '../core/account.js';
import { evaluateFilter, type AddressFilter } from '../core/filter.js';
import type { Outgoing } from '../protocols/types.js';
import type { Delivery, DroppedRecipient, Outcome, QueuedMessage, Queue, Settled } from '../store/types.js';

const BATCH = 64;
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

/** The recipients a message goes to, and those the outbound filter blocks (with the pattern that did). */
function recipientsOf(message: QueuedMessage, filter: AddressFilter | undefined): { recipients: string[]; dropped: DroppedRecipient[] } {
  const all = message.record.recipients?.length ? message.record.recipients : [...message.record.to, ...message.record.cc];
  const recipients: string[] = [];
  const dropped: DroppedRecipient[] = [];
  for (const address of all) {
    const decision = filter && evaluateFilter(filter, address);
    if (filter && decision?.blocked) dropped.push({ address, filter: filter.name, pattern: decision.decidedBy?.pattern ?? null });
    else recipients.push(address);
  }
  return { recipients, dropped };
}

/** Hands out claimed messages one by one, claiming the next batch while the last one is being sent. */
class Claims {
  private buffer: QueuedMessage[] = [];
  private claiming: Promise<void> | undefined;
  private exhausted = false;

  constructor(
    private readonly deps: SendDeps,
    private readonly halted: () => boolean,
  ) {}

  private claim(): Promise<void> {
    return (this.claiming ??= this.deps.queue
      .claim(this.deps.clock(), BATCH)
      .then((claimed) => {
        this.buffer.push(...claimed);
        if (claimed.length === 0) this.exhausted = true;
      })
      .finally(() => (this.claiming = undefined)));
  }

  async next(): Promise<QueuedMessage | undefined> {
    while (this.buffer.length === 0) {
      if (this.exhausted || this.halted()) return undefined;
      await this.claim();
    }
    const message = this.buffer.shift()!;
    if (this.buffer.length <= BATCH / 2 && !this.exhausted && !this.halted()) this.claim().catch(() => undefined); // resurfaces in next()
    return message;
  }

  /** Claimed and not handed out (a stop or a failure came first); waits for a claim under way. */
  async rest(): Promise<QueuedMessage[]> {
    await this.claiming?.catch(() => undefined);
    return this.buffer.splice(0);
  }
}

/**
 * Outcomes as they come: each placed at once (a message the server took leaves the outbox right
 * away, so a kill resends only what was in flight), committed (logged, folders fsynced) per batch.
 */
class Settlement {
  private placed: Array<{ kind: Outcome['kind']; settled: Promise<Settled> }> = [];
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: SendDeps,
    private readonly summary: SendSummary,
  ) {}

  record(message: QueuedMessage, outcome: Outcome): void {
    const settled = this.deps.queue.place(message, outcome, this.deps.clock());
    settled.catch(() => undefined); // surfaces through commit()
    this.placed.push({ kind: outcome.kind, settled });
    if (this.placed.length >= BATCH) this.commit();
  }

  /** Commits what was placed, behind the previous commit; done() waits for them all. */
  commit(): void {
    const batch = this.placed;
    this.placed = [];
    if (batch.length === 0) return;
    // Every batch is committed, even after an earlier one failed (the store lets go of what it
    // committed); the first failure surfaces through done().
    this.chain = this.chain.then(async () => {
      const results = await Promise.allSettled(batch.map((p) => p.settled));
      const placed = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ kind: batch[i]!.kind, settled: r.value }] : []));
      const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      try {
        await this.deps.queue.commit(placed.map((p) => p.settled));
        for (const p of placed) this.count(p.kind, p.settled);
      } catch (err) {
        this.failure ??= { error: err };
      }
      if (refused) this.failure ??= { error: refused.reason };
    });
  }

  private failure: { error: unknown } | undefined;

  private count(kind: Outcome['kind'], s: Settled): void {
    if (kind === 'sent') this.summary.sent++;
    else if (kind === 'failed' || s.gaveUp) this.summary.failed++;
    else if (kind === 'retry') this.summary.retrying++;
    else if (kind === 'ignored') this.summary.ignored++;
  }

  done(): Promise<void> {
    this.commit();
    return this.chain.then(() => {
      if (this.failure) throw this.failure.error;
    });
  }
}

export async function sendQueue(account: Account, deps: SendDeps): Promise<SendSummary> {
  const summary: SendSummary = { sent: 0, failed: 0, retrying: 0, ignored: 0, dropped: [], waiting: 0 };
  const from = senderAddress(account) ?? '';
  let outgoing: Outgoing | undefined;
  let connecting: Promise<Outgoing> | undefined;
  let stopped = Boolean(deps.signal?.aborted);
  const onAbort = () => {
    stopped = true;
  };
  deps.signal?.addEventListener('abort', onAbort, { once: true });
  const halted = () => stopped || summary.failure !== undefined;
  const claims = new Claims(deps, halted);
  const settlement = new Settlement(deps, summary);
  // One connection for the cycle, opened by whichever send needs it first.
  const connection = () => (connecting ??= deps.connect().then((o) => (outgoing = o)));

  const sendOne = async (message: QueuedMessage): Promise<void> => {
    const { recipients, dropped } = recipientsOf(message, deps.filter);
    const delivery = (sentTo: string[], refused: Delivery['refused'] = []): Delivery => ({ sentTo, dropped, refused });
    summary.dropped.push(...dropped.map((d) => `${d.address} (filter ${d.filter})`));
    if (recipients.length === 0) {
      const reason = `every recipient is blocked by filter ${deps.filter?.name}: ${dropped.map((d) => d.address).join(', ')}`;
      return settlement.record(message, { kind: 'ignored', reason, delivery: delivery([]) });
    }
    if (halted()) return settlement.record(message, { kind: 'untried' });
    let out: Outgoing;
    try {
      out = await connection();
    } catch (err) {
      // Nothing reached a server (the secret, the TLS settings): the attempt does not count.
      summary.failure ??= err;
      return settlement.record(message, { kind: 'untried' });
    }
    try {
      const sent = await out.send(message, { from: from || message.record.from || '', to: recipients });
      settlement.record(message, { kind: 'sent', reply: sent.reply, account: account.name, delivery: delivery(sent.accepted, sent.refused) });
    } catch (err) {
      const failure = out.classify(err);
      if (failure.connection) summary.failure ??= err;
      // A refused login is no attempt at this message: it goes back as it was (and a refreshed token sends it).
      if (failure.untried) return settlement.record(message, { kind: 'untried' });
      const attempt = { error: failure.message, delivery: delivery([], failure.refused) };
      settlement.record(message, failure.permanent ? { kind: 'failed', ...attempt } : { kind: 'retry', ...attempt });
    }
  };

  const worker = async () => {
    for (let message = await claims.next(); message; message = await claims.next()) await sendOne(message);
  };
  try {
    const workers = await Promise.allSettled(Array.from({ length: IN_FLIGHT }, worker));
    const broken = workers.find((w): w is PromiseRejectedResult => w.status === 'rejected');
    if (broken) throw broken.reason;
  } finally {
    deps.signal?.removeEventListener('abort', onAbort);
    // Claimed but never tried (a stop or a failure came first): the attempt is taken back.
    for (const message of await claims.rest()) settlement.record(message, { kind: 'untried' });
    await settlement.done().finally(() => outgoing?.close());
  }
  summary.waiting = (await deps.queue.waiting()).length;
  return summary;
}
