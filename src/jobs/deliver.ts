// Delivery of fetched messages into the local store, overlapped: many writes (each tmp + fsync +
// rename) run while the next messages arrive, bounded by count and bytes. A checkpoint makes what
// was delivered so far durable (directory fsync, then one email-log append) and hands it to the
// caller to record as seen: per batch, never per message, and never before the files are durable.
import type { Account } from '../core/account.js';
import { evaluateFilter, type AddressFilter } from '../core/filter.js';
import type { EmailLog, EmailRecord } from '../store/email-log.js';
import type { MailStore, PendingMessage, StagedMessage, StoredMessage } from '../store/mail-store.js';
import { summarize, type HeaderSummary } from '../store/message-headers.js';
import type { MessageBody, RemoteMessage } from '../protocols/types.js';

export type DeliveryOutcome = 'received' | 'ignored' | 'duplicate';

export interface Delivered {
  remote: RemoteMessage;
  outcome: DeliveryOutcome;
  /** Null for a duplicate (recognised, not stored again). */
  record: EmailRecord | null;
  /** Written to tmp/, to be published (made durable and visible) by the checkpoint. */
  staged?: StagedMessage;
}

export interface DelivererOptions {
  store: MailStore;
  log: EmailLog;
  account: Pick<Account, 'name'>;
  /** The inbound filter in effect for the account, if any. */
  filter?: AddressFilter;
  /** After a UIDVALIDITY change: whether a message with this Message-ID and size is already stored. */
  isDuplicate?: (messageId: string | null, size: number) => boolean;
  clock: () => Date;
  maxInFlight?: number;
  maxInFlightBytes?: number;
  /** Called once a batch is durable (files and log), in fetch order, before the next checkpoint runs. */
  onCommitted: (batch: Delivered[]) => Promise<void>;
  /** Bytes received so far (for a progress indicator). */
  onBytes?: (bytes: number) => void;
}

/** Streamed messages up to this size (as the server announced it) are gathered and written whole. */
const COLLECT_LIMIT = 1024 * 1024;

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

interface Task {
  remote: RemoteMessage;
  bytes: number;
  result: Promise<Delivered>;
}

export function receivedRecord(
  pending: Pick<PendingMessage, 'id' | 'size'>,
  summary: HeaderSummary,
  stored: StoredMessage,
  account: string,
  source: string,
  reason: string | null,
  now: Date,
): EmailRecord {
  const iso = now.toISOString();
  return {
    id: pending.id,
    state: reason ? 'received-ignored' : 'received',
    account,
    date: summary.date,
    from: summary.from,
    to: summary.to,
    cc: summary.cc,
    subject: summary.subject,
    size: pending.size,
    attempts: 0,
    nextAttempt: null,
    error: reason,
    file: stored.file,
    messageId: summary.messageId,
    source,
    createdAt: iso,
    updatedAt: iso,
  };
}

/** Why an inbound message is skipped (its sender is blocked), or null. */
export function blockedReason(filter: AddressFilter | undefined, from: string | null): string | null {
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
    this.uncommitted.push({ remote, bytes, result });
    if (bodyRead) await Promise.race([bodyRead, tracked]);
    if (this.failure) throw this.failure;
  }

  /** A message arriving as a stream (large, or POP3): written to tmp/ first, decided, then renamed. */
  private async deliverStream(remote: RemoteMessage, body: AsyncIterable<Buffer>, consumed: () => void): Promise<Delivered> {
    const { store, account } = this.options;
    let pending: PendingMessage;
    try {
      pending = await store.write(body, {
        source: { account: account.name, id: remote.key },
        onConsumed: consumed,
        onChunk: this.options.onBytes,
      });
    } finally {
      consumed();
    }
    try {
      const summary = summarize(pending.header);
      if (this.options.isDuplicate?.(summary.messageId, pending.size)) {
        await pending.discard();
        return { remote, outcome: 'duplicate', record: null };
      }
      const reason = blockedReason(this.options.filter, summary.from);
      const stored = await pending.commit(reason ? 'skipped' : 'inbox');
      return this.delivered(remote, pending, summary, stored, reason);
    } catch (err) {
      await pending.discard();
      throw err;
    }
  }

  /** A message held whole (small, fetched in bulk): decided first, then written in one step. */
  private async deliverWhole(remote: RemoteMessage, body: Buffer): Promise<Delivered> {
    this.options.onBytes?.(body.length);
    const summary = summarize(body);
    if (this.options.isDuplicate?.(summary.messageId, body.length)) return { remote, outcome: 'duplicate', record: null };
    const reason = blockedReason(this.options.filter, summary.from);
    const staged = await this.options.store.stage(body, reason ? 'skipped' : 'inbox', { account: this.options.account.name, id: remote.key });
    return { ...this.delivered(remote, staged, summary, staged, reason), staged };
  }

  private delivered(remote: RemoteMessage, message: { id: string; size: number }, summary: HeaderSummary, stored: StoredMessage, reason: string | null): Delivered {
    const record = receivedRecord(message, summary, stored, this.options.account.name, remote.key, reason, this.options.clock());
    return { remote, outcome: reason ? 'ignored' : 'received', record };
  }

  /**
   * Makes everything delivered so far durable and reports it (onCommitted), in order. Runs behind
   * the previous checkpoint; the returned promise may be left to run while fetching goes on.
   */
  checkpoint(): Promise<void> {
    const batch = this.uncommitted;
    this.uncommitted = [];
    this.chain = this.chain.then(async () => {
      const done: Delivered[] = [];
      for (const task of batch) {
        try {
          done.push(await task.result);
        } catch {
          // Not stored: left for the next cycle (the failure itself was kept by add()).
        }
      }
      if (done.length === 0) return;
      await this.options.store.publish(done.flatMap((d) => (d.staged ? [d.staged] : [])));
      await this.options.store.sync();
      await this.options.log.append(done.flatMap((d) => (d.record ? [d.record] : [])));
      for (const d of done) this.counts[d.outcome]++;
      await this.options.onCommitted(done);
    });
    return this.chain;
  }

  /** Waits for every delivery started, commits them; then throws the first failure, if any. */
  async finish(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.checkpoint();
    if (this.failure) throw this.failure;
  }

  /** Messages started and not yet committed (for deciding when to checkpoint). */
  get pendingCount(): number {
    return this.uncommitted.length;
  }
}
