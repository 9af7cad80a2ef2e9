// Delivery of fetched messages into the store, overlapped: many writes run while the next messages
// arrive, bounded by count and bytes. A checkpoint commits what was delivered so far (the bodies,
// their email records and the seen-state change, in one store call) and hands it to the caller: per
// batch, never per message, and nothing counts as stored before the store says it is durable.
import type { Account } from '../core/account.js';
import { evaluateFilter, type AddressFilter } from '../core/filter.js';
import { guardVerdict } from '../core/guards.js';
import type { Guard } from '../core/settings.js';
import { HeaderCapture, summarize, type HeaderSummary } from '../store/message-headers.js';
import { receivedRecord } from '../store/records.js';
import type { EmailRecord, IncomingStore, SeenChange, StagedMessage } from '../store/types.js';
import type { MessageBody, RemoteMessage } from '../protocols/types.js';

export type DeliveryOutcome = 'received' | 'ignored' | 'duplicate';

export interface Delivered {
  remote: RemoteMessage;
  outcome: DeliveryOutcome;
  /** Null for a duplicate (recognised, not stored again). */
  record: EmailRecord | null;
  /** Written to temporary storage, kept by the checkpoint's commit. */
  staged: StagedMessage | null;
}

export interface DelivererOptions {
  store: IncomingStore;
  account: Pick<Account, 'name' | 'deliver'>;
  /** IMAP: the folder the messages come from, kept on their records. */
  folder?: string;
  /** The inbound filter in effect for the account, if any. */
  filter?: AddressFilter;
  /** The inbound guards in effect (settings), and the Message-IDs this mailbox sent (for the loop guard). */
  guards?: InboundGuards;
  /** After a UIDVALIDITY change: whether a message with this Message-ID and size is already stored. */
  isDuplicate?: (messageId: string | null, size: number) => boolean;
  clock: () => Date;
  maxInFlight?: number;
  maxInFlightBytes?: number;
  /** The seen-state change a batch makes, committed with it; must not change anything yet. */
  seenChange: (batch: Delivered[]) => SeenChange;
  /** Called once a batch is committed, in fetch order, before the next checkpoint runs. */
  onCommitted: (batch: Delivered[]) => void;
}

export interface InboundGuards {
  enabled: Record<Guard, boolean>;
  /** Loaded once, on the first message whose Message-ID needs checking. */
  sentIds: () => Promise<ReadonlySet<string>>;
}

/** Streamed messages up to this size (as the server announced it) are gathered and written whole. */
const COLLECT_LIMIT = 1024 * 1024;

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** Passes a body through, showing each chunk to `onChunk`; `onEnd` once it is read to its end (or given up). */
async function* tap(body: AsyncIterable<Buffer>, onChunk: (chunk: Buffer) => void, onEnd: () => void): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of body) {
      onChunk(chunk);
      yield chunk;
    }
  } finally {
    onEnd();
  }
}

interface Task {
  result: Promise<Delivered>;
}

/** Why an inbound message is skipped (its sender is blocked), or null. */
function blockedReason(filter: AddressFilter | undefined, from: string | null): string | null {
  if (!filter || !from) return null;
  const decision = evaluateFilter(filter, from);
  if (!decision.blocked) return null;
  return `sender ${from} is blocked by filter ${filter.name} (deny ${decision.decidedBy?.pattern})`;
}

export class Deliverer {
  private uncommitted: Task[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly waiting: Array<() => void> = [];
  private inFlightBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown;
  private readonly maxInFlight: number;
  private readonly maxInFlightBytes: number;
  /** Counts of what was committed. */
  readonly counts: Record<DeliveryOutcome, number> = { received: 0, ignored: 0, duplicate: 0 };
  /** Bytes of the messages stored (received and ignored), for the metrics. */
  bytes = 0;

  constructor(private readonly options: DelivererOptions) {
    this.maxInFlight = options.maxInFlight ?? 256;
    this.maxInFlightBytes = options.maxInFlightBytes ?? 32 * 1024 * 1024;
  }

  /**
   * Starts delivering one message. Resolves when the source may move on: at once for a buffer
   * (unless too much is in flight), after the last byte for a stream. Throws the first failure.
   */
  async add(remote: RemoteMessage, body: MessageBody): Promise<void> {
    if (this.failure) throw this.failure;
    const whole = Buffer.isBuffer(body);
    const gather = !whole && remote.size > 0 && remote.size <= COLLECT_LIMIT;
    const bytes = whole ? body.length : gather ? remote.size : 0;
    // A queue of waiters, woken one per finished delivery (Promise.race over the in-flight set
    // would pile up reactions when many sources wait at once, as POP3 bodies buffered ahead do).
    while (this.inFlight.size >= this.maxInFlight || (this.inFlight.size > 0 && this.inFlightBytes + bytes > this.maxInFlightBytes)) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    let bodyRead: Promise<void> | undefined;
    let result: Promise<Delivered>;
    if (whole) result = this.deliverWhole(remote, body);
    else if (gather) {
      // A small message arriving as a stream (POP3): gathered, then written in one step.
      const gathered = collect(body);
      bodyRead = gathered.then(
        () => undefined,
        () => undefined,
      );
      result = gathered.then((buffer) => this.deliverWhole(remote, buffer));
    } else {
      let consumed!: () => void;
      bodyRead = new Promise<void>((resolve) => (consumed = resolve));
      result = this.deliverStream(remote, body, consumed);
    }
    const settle = () => {
      this.inFlight.delete(tracked);
      this.inFlightBytes -= bytes;
      this.waiting.shift()?.();
    };
    const tracked: Promise<void> = result.then(settle, (err) => {
      this.failure ??= err;
      settle();
    });
    this.inFlight.add(tracked);
    this.inFlightBytes += bytes;
    this.uncommitted.push({ result });
    if (bodyRead) await Promise.race([bodyRead, tracked]);
    if (this.failure) throw this.failure;
  }

  /** A message arriving as a stream (large): written to temporary storage first, then decided. */
  private async deliverStream(remote: RemoteMessage, body: AsyncIterable<Buffer>, consumed: () => void): Promise<Delivered> {
    const { store, account } = this.options;
    const header = new HeaderCapture();
    let staged: StagedMessage;
    try {
      // `consumed` fires once the body is read to its end, before the store's fsync: the source moves on.
      staged = await store.stage(tap(body, (chunk) => header.push(chunk), consumed), { account: account.name, id: remote.key });
    } finally {
      consumed();
    }
    const summary = summarize(header.buffer());
    if (this.options.isDuplicate?.(summary.messageId, staged.size)) {
      await store.discard(staged);
      return { remote, outcome: 'duplicate', record: null, staged: null };
    }
    return this.delivered(remote, staged, summary);
  }

  /** A message held whole (small, fetched in bulk): decided first, then written in one step. */
  private async deliverWhole(remote: RemoteMessage, body: Buffer): Promise<Delivered> {
    const summary = summarize(body);
    if (this.options.isDuplicate?.(summary.messageId, body.length)) return { remote, outcome: 'duplicate', record: null, staged: null };
    const staged = await this.options.store.stage(body, { account: this.options.account.name, id: remote.key });
    return this.delivered(remote, staged, summary);
  }

  private async delivered(remote: RemoteMessage, staged: StagedMessage, summary: HeaderSummary): Promise<Delivered> {
    const reason = blockedReason(this.options.filter, summary.from) ?? (await this.guardReason(summary));
    const { name, deliver } = this.options.account;
    const record = receivedRecord(staged, summary, name, remote.key, reason, this.options.clock(), { dest: deliver, folder: this.options.folder });
    return { remote, outcome: reason ? 'ignored' : 'received', record, staged };
  }

  /** The reason an inbound guard skips the message, or null; the sent Message-IDs are read only when needed. */
  private async guardReason(summary: HeaderSummary): Promise<string | null> {
    const guards = this.options.guards;
    if (!guards) return null;
    const sent = guards.enabled.loop && summary.messageId ? await guards.sentIds() : undefined;
    return guardVerdict(summary, guards.enabled, (id) => sent?.has(id) ?? false)?.reason ?? null;
  }

  /**
   * Commits everything delivered so far and reports it (onCommitted), in order. Runs behind the
   * previous checkpoint; the returned promise may be left to run while fetching goes on (a failure
   * stops the next add()).
   */
  checkpoint(): Promise<void> {
    const batch = this.uncommitted;
    this.uncommitted = [];
    const settledBatch = async () => {
      const done: Delivered[] = [];
      for (const task of batch) {
        try {
          done.push(await task.result);
        } catch {
          // Not stored: left for the next cycle (the failure itself was kept by add()).
        }
      }
      return done;
    };
    const commit = async () => {
      const done = await settledBatch();
      if (done.length === 0) return;
      try {
        await this.options.store.commit({
          account: this.options.account.name,
          messages: done.flatMap((d) => (d.record && d.staged ? [{ staged: d.staged, record: d.record }] : [])),
          seen: this.options.seenChange(done),
        });
      } catch (err) {
        this.failure ??= err;
        throw err;
      }
      for (const d of done) {
        this.counts[d.outcome]++;
        this.bytes += d.staged?.size ?? 0;
      }
      this.options.onCommitted(done);
    };
    // After an earlier batch could not be committed, this one is not kept either (fetched again next cycle).
    const drop = async (err: unknown) => {
      for (const d of await settledBatch()) if (d.staged) await this.options.store.discard(d.staged).catch(() => undefined);
      throw err;
    };
    this.chain = this.chain.then(commit, drop);
    return this.chain;
  }

  /** Waits for every delivery started, commits them; then throws the first failure, if any. */
  async finish(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.checkpoint();
    if (this.failure) throw this.failure;
  }

  /** Messages committed so far (stored, or recognised as stored already). */
  get committed(): number {
    return this.counts.received + this.counts.ignored + this.counts.duplicate;
  }

  /** Messages started and not yet committed (for deciding when to checkpoint). */
  get pendingCount(): number {
    return this.uncommitted.length;
  }
}
