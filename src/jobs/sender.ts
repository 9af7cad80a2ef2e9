// The sender: one cycle through the outbox over the active SMTP account's pooled connection.
// Messages are claimed from the queue a batch at a time (marked in flight, durably), sent many at
// once over the one connection, and settled a batch at a time (moved to sent/failed/skipped, logged):
// a few fsyncs per batch, not per message. A connection or login failure stops the cycle; what was
// claimed and not tried then goes back as it was. Each attempt records what it did with the queued
// recipients: the envelope the server accepted, those the outbound filter dropped, those it refused.
import { senderAddress, type Account } from '../core/account.js';
import { evaluateFilter, type AddressFilter } from '../core/filter.js';
import { Readable } from 'node:stream';
import type { Outgoing, OutgoingMessage } from '../protocols/types.js';
import { isDue } from '../store/queue-rules.js';
import type { Delivery, DroppedRecipient, EmailRecord, Outcome, QueuedMessage, Queue, Settled } from '../store/types.js';

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
  /** Bytes of the messages the server took, for the metrics. */
  bytes: number;
  /** Due, and left waiting because this cycle used up the account's allowance (--max-per-minute). */
  throttled: number;
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
  /** The test redirect (setting redirect-to): every message goes to this address only. */
  redirectTo?: string | null;
  /** At most this many messages this cycle (the throttle's allowance); absent: no limit. */
  allowance?: number;
  /** Told of each message the server took. */
  onSent?: (record: EmailRecord) => void;
}

/** The header that keeps a redirected message's real recipients (the envelope names only the test address). */
export const ORIGINAL_RECIPIENTS_HEADER = 'X-Mailbox-Original-Recipients';

/** The message with the header naming its original recipients put in front (the rest byte for byte). */
function redirected(message: QueuedMessage, recipients: string[]): OutgoingMessage {
  const line = Buffer.from(`${ORIGINAL_RECIPIENTS_HEADER}: ${recipients.join(', ')}\r\n`);
  return {
    size: message.size + line.length,
    async content() {
      const body = await message.content();
      return Buffer.isBuffer(body) ? Buffer.concat([line, body]) : Readable.from(prepend(line, body));
    },
  };
}

async function* prepend(first: Buffer, rest: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  yield* rest;
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
  /** Claimed so far this cycle, against the throttle's allowance. */
  private taken = 0;

  constructor(
    private readonly deps: SendDeps,
    private readonly halted: () => boolean,
  ) {}

  /** Whether the throttle's allowance for this cycle is used up. */
  get throttled(): boolean {
    return this.deps.allowance !== undefined && this.taken >= this.deps.allowance;
  }

  private claim(): Promise<void> {
    const limit = Math.min(BATCH, (this.deps.allowance ?? Infinity) - this.taken);
    if (limit <= 0) {
      this.exhausted = true;
      return Promise.resolve();
    }
    return (this.claiming ??= this.deps.queue
      .claim(this.deps.clock(), limit)
      .then((claimed) => {
        this.buffer.push(...claimed);
        this.taken += claimed.length;
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
  const summary: SendSummary = { sent: 0, failed: 0, retrying: 0, ignored: 0, dropped: [], waiting: 0, throttled: 0, bytes: 0 };
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
    const redirect = deps.redirectTo ?? undefined;
    const delivery = (sentTo: string[], refused: Delivery['refused'] = []): Delivery => ({ sentTo, dropped, refused, ...(redirect ? { redirectedTo: redirect } : {}) });
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
      // A test instance: the envelope names the test address only; the header keeps who it was for.
      const envelope = { from: from || message.record.from || '', to: redirect ? [redirect] : recipients };
      const sent = await out.send(redirect ? redirected(message, recipients) : message, envelope);
      settlement.record(message, { kind: 'sent', reply: sent.reply, account: account.name, delivery: delivery(sent.accepted, sent.refused) });
      summary.bytes += message.size;
      deps.onSent?.(message.record);
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
  const waiting = await deps.queue.waiting();
  summary.waiting = waiting.length;
  if (claims.throttled) {
    const now = deps.clock();
    summary.throttled = waiting.filter((r) => isDue(r, now)).length;
  }
  return summary;
}
