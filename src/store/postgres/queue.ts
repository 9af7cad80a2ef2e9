// The outgoing queue in the database, deciding as every queue does (queue-rules.ts). Due messages are
// claimed oldest first with FOR UPDATE SKIP LOCKED and marked in flight, with the claiming worker, in
// the claim's transaction, so two claimers never take one message; a message in flight is due again
// once its worker is dead. An outcome is written at once without waiting for the disk (a kill after
// it does not send the message again), and made durable with its batch by commit(); a worker writes
// outcomes only of messages it still holds (another may have taken over its claims).
import type { Readable } from 'node:stream';
import { BACKOFF_MINUTES, JUMP_TOLERANCE_MS } from '../../core/retry.js';
import { newId } from '../ids.js';
import { claimed, isDue, OUTBOX_STATES, requeued, settled } from '../queue-rules.js';
import { outgoingRecord } from '../records.js';
import type { EmailRecord, MessageData, NewOutgoing, Outcome, QueuedMessage, Queue, Settled } from '../types.js';
import { openBody, readWhole, writeBody } from './bodies.js';
import type { Database } from './connection.js';
import type { Fence } from './fence.js';
import { changeRecord, insertRecords, updateRecords } from './records.js';
import { SCHEMA } from './schema.js';

/** Bodies up to this size come with their claim (one round trip for a batch); larger ones are read when sent. */
const PREFETCH = 256 * 1024;
/** Messages up to this size are handed to the sender whole; larger ones stream, a part at a time. */
const READ_WHOLE = 1024 * 1024;
const OUTBOX = [...OUTBOX_STATES];

class DbQueued implements QueuedMessage {
  constructor(
    readonly record: EmailRecord,
    readonly size: number,
    private readonly db: Database,
    private body: Buffer | null,
  ) {}

  async content(): Promise<Buffer | Readable> {
    if (this.body) {
      const body = this.body;
      this.body = null;
      return body;
    }
    const id = this.record.id;
    const content = this.size <= READ_WHOLE ? await readWhole(this.db, id) : await openBody(this.db, id);
    return content ?? Buffer.alloc(0);
  }
}

/**
 * Writes outcomes as they come, many per statement, without waiting for the disk (synchronous_commit
 * off: a process killed after it keeps them; a server crash may lose the last few, and those messages
 * are sent again, as with any message in flight).
 */
class Placements {
  private pending: Array<{ record: EmailRecord; done: (err?: unknown) => void }> = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    private readonly fence: Fence,
  ) {}

  write(record: EmailRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ record, done: (err) => (err === undefined ? resolve() : reject(err)) });
      this.running ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0);
      try {
        await this.db.transaction(async (client) => {
          await client.query('SET LOCAL synchronous_commit TO off');
          await updateRecords(client, batch.map((p) => p.record), this.fence.worker);
        });
        for (const p of batch) p.done();
      } catch (err) {
        for (const p of batch) p.done(err);
      }
    }
    this.running = undefined;
  }
}

export class PgQueue implements Queue {
  /** Claimed here and not yet committed: never claimed again by this process. */
  private readonly claimedIds = new Set<string>();
  private readonly placements: Placements;
  /**
   * A message found in flight without a worker (claimed by `mailbox send`) is due again only when it
   * was claimed before this process started (its claimer stopped), or "later than now" (claimed while
   * the clock ran ahead): another process claiming at the same time never takes what this one holds.
   * One with a worker is due again once that worker is dead, or, to this worker, when it is not among
   * the claims it holds (a claim whose answer was lost, or a commit that failed).
   */
  private readonly since: Date;

  constructor(
    private readonly db: Database,
    private readonly clock: () => Date,
    private readonly chunk: number,
    private readonly fence: Fence,
    private readonly batch = Number.POSITIVE_INFINITY,
  ) {
    this.placements = new Placements(db, fence);
    this.since = clock();
  }

  async enqueue(data: MessageData, outgoing: NewOutgoing): Promise<EmailRecord> {
    const id = newId();
    return this.db.transaction(async (client) => {
      const { size, header } = await writeBody(client, id, data, this.chunk);
      const recipients = typeof outgoing.recipients === 'function' ? await outgoing.recipients() : outgoing.recipients;
      const record = outgoingRecord({ id, size, file: id }, header, { account: outgoing.account, recipients }, this.clock());
      await insertRecords(client, [record]);
      return record;
    });
  }

  async claim(now: Date, limit: number): Promise<QueuedMessage[]> {
    const claims = await this.db.transaction(async (client) => {
      // Due as isDue() says: in flight after a stop, ready, or its retry time reached (or set by a
      // clock that ran ahead: further off than its back-off step allows, see retryDue).
      const { rows } = await client.query<{ record: EmailRecord; body: Buffer | null }>(
        `SELECT e.record, CASE WHEN (e.record ->> 'size')::bigint <= $7 THEN b.data END AS body
         FROM ${SCHEMA}.emails e LEFT JOIN ${SCHEMA}.bodies b ON b.id = e.id AND b.part = 0
         WHERE e.state = ANY($1::text[]) AND NOT (e.id = ANY($2::text[]))
           AND (CASE WHEN e.in_flight AND e.claimed_by IS NOT NULL
                  THEN e.claimed_by = $10 OR NOT EXISTS (SELECT 1 FROM ${SCHEMA}.workers w WHERE w.id = e.claimed_by AND w.expires_at > now())
                WHEN e.in_flight THEN coalesce(${SCHEMA}.time_or_null(e.record ->> 'inFlight') NOT BETWEEN $9::timestamptz AND $3::timestamptz + make_interval(secs => $6), true)
                ELSE e.state = 'send-ready' OR (e.next_attempt IS NOT NULL AND (
                 ${SCHEMA}.time_or_null(e.next_attempt) IS NULL
                 OR ${SCHEMA}.time_or_null(e.next_attempt) <= $3
                 OR ${SCHEMA}.time_or_null(e.next_attempt) - $3
                    > make_interval(mins => coalesce(($4::int[])[greatest(e.attempts, 1)], $5)) + make_interval(secs => $6))) END)
         ORDER BY e.created_at, e.id
         LIMIT $8
         FOR UPDATE OF e SKIP LOCKED`,
        [OUTBOX, [...this.claimedIds], now, [...BACKOFF_MINUTES], Math.max(...BACKOFF_MINUTES), JUMP_TOLERANCE_MS / 1000, PREFETCH, Math.min(limit, this.batch), this.since, this.fence.worker],
      );
      // isDue() has the last word (the query above is its translation).
      const due = rows.filter((r) => isDue(r.record, now)).map((r) => ({ record: claimed(r.record, now), body: r.body }));
      await updateRecords(client, due.map((d) => d.record));
      if (due.length) await client.query(`UPDATE ${SCHEMA}.emails SET claimed_by = $2 WHERE id = ANY($1::text[])`, [due.map((d) => d.record.id), this.fence.worker]);
      return due;
    });
    for (const c of claims) this.claimedIds.add(c.record.id);
    return claims.map((c) => new DbQueued(c.record, c.record.size, this.db, c.body));
  }

  async place(message: QueuedMessage, outcome: Outcome, now: Date): Promise<Settled> {
    const result = settled(message.record, outcome, now);
    try {
      await this.placements.write(result.record);
    } catch (err) {
      // Not written: still in flight, claimed by this worker, and due to it again (sent at least once).
      this.claimedIds.delete(message.record.id);
      throw err;
    }
    return result;
  }

  async commit(placed: Settled[]): Promise<void> {
    if (placed.length === 0) return;
    try {
      await this.db.transaction((client) => updateRecords(client, placed.map((s) => s.record), this.fence.worker));
    } finally {
      // Committed, or not (then what is still in flight is due again, to this worker too: sent at least once).
      for (const { record } of placed) this.claimedIds.delete(record.id);
    }
  }

  async sentSince(account: string, since: Date): Promise<number> {
    const { rows } = await this.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${SCHEMA}.emails WHERE state = 'sent' AND account_key = lower($1) AND record ->> 'updatedAt' >= $2`,
      [account, since.toISOString()],
    );
    return Number(rows[0]!.n);
  }

  async waiting(): Promise<EmailRecord[]> {
    const { rows } = await this.db.query<{ record: EmailRecord }>(`SELECT record FROM ${SCHEMA}.emails WHERE state = ANY($1::text[]) ORDER BY seq`, [OUTBOX]);
    return rows.map((r) => r.record);
  }

  requeue(id: string, now: Date): Promise<EmailRecord> {
    return changeRecord(this.db, id, (record) => requeued(record, id, now));
  }
}
