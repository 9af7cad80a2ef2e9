// Incoming mail into the database, exactly once: a batch (its bodies, its email rows, the seen-state
// change) is one transaction, committed before anything is deleted from the server, and the unique key
// on (account, source id) makes a second copy of a message impossible. Small messages wait in memory
// (bounded) and go in with their batch's transaction; large ones stream into parts as they arrive,
// before their batch, in a transaction of their own with a `staged` row: invisible (no email row)
// until the batch commits, removed when it fails, and swept at a runner start if a stop left them.
import { MailboxError } from '../../core/errors.js';
import { newId } from '../ids.js';
import type { IncomingBatch, IncomingStore, MessageData, SourceRef, StagedMessage } from '../types.js';
import { deleteUnrecorded, insertBodies, writeBody } from './bodies.js';
import type { Database } from './connection.js';
import type { Fence } from './fence.js';
import { insertRecords } from './records.js';
import { SCHEMA } from './schema.js';
import type { PgSeenState } from './seen.js';

/** Bytes of small messages held in memory before they are written ahead of their batch. */
const MEMORY_LIMIT = 32 * 1024 * 1024;

interface Staged {
  source: SourceRef;
  /** Held here until its batch commits; absent once written (streamed, or written ahead). */
  body?: Buffer;
}

export class PgIncoming implements IncomingStore {
  private readonly staged = new Map<string, Staged>();
  private memoryBytes = 0;
  private spilling: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    private readonly seen: PgSeenState,
    private readonly chunk: number,
    private readonly fence: Fence,
  ) {}

  async stage(data: MessageData, source: SourceRef): Promise<StagedMessage> {
    const id = newId();
    if (Buffer.isBuffer(data)) {
      this.staged.set(id, { source, body: data });
      this.memoryBytes += data.length;
      while (this.memoryBytes > MEMORY_LIMIT) await this.spill();
      return { id, size: data.length, file: id };
    }
    const { size } = await this.db.transaction(async (client) => {
      await client.query(`INSERT INTO ${SCHEMA}.staged (id, worker_id) VALUES ($1, $2)`, [id, this.fence.worker]);
      return writeBody(client, id, data, this.chunk);
    });
    this.staged.set(id, { source });
    return { id, size, file: id };
  }

  /** Writes the bodies held in memory ahead of their batches (one at a time; callers wait for it). */
  private spill(): Promise<void> {
    return (this.spilling ??= (async () => {
      const held = [...this.staged].filter(([, s]) => s.body).map(([id, s]) => ({ id, data: s.body! }));
      try {
        await this.db.transaction(async (client) => {
          await client.query(`INSERT INTO ${SCHEMA}.staged (id, worker_id) SELECT unnest($1::text[]), $2`, [held.map((h) => h.id), this.fence.worker]);
          await insertBodies(client, held, this.chunk);
        });
        for (const { id, data } of held) {
          const s = this.staged.get(id);
          if (s?.body === data) {
            delete s.body;
            this.memoryBytes -= data.length;
          }
        }
      } finally {
        this.spilling = undefined;
      }
    })());
  }

  async discard(staged: StagedMessage): Promise<void> {
    const s = this.forget(staged.id);
    if (s && !s.body) await deleteUnrecorded(this.db, [staged.id]);
  }

  private forget(id: string): Staged | undefined {
    const s = this.staged.get(id);
    if (!s) return undefined;
    this.staged.delete(id);
    if (s.body) this.memoryBytes -= s.body.length;
    return s;
  }

  async commit(batch: IncomingBatch): Promise<void> {
    const ids = batch.messages.map((m) => m.staged.id);
    // A spill under way may be writing bodies of this batch: they count as written once it is done.
    await this.spilling?.catch(() => undefined);
    const missing = ids.find((id) => !this.staged.has(id));
    if (missing) {
      await this.dropAll(ids);
      throw new MailboxError('EINTERNAL', `message ${missing} is not staged`);
    }
    // Taken out of memory now: a spill meanwhile must not write them a second time.
    const entries = ids.map((id) => [id, this.forget(id)!] as const);
    const inMemory = entries.filter(([, s]) => s.body).map(([id, s]) => ({ id, data: s.body! }));
    const written = entries.filter(([, s]) => !s.body).map(([id]) => id);
    try {
      await this.db.transaction(async (client) => {
        await this.fence.check(client, batch.account);
        await insertBodies(client, inMemory, this.chunk);
        await insertRecords(client, batch.messages.map((m) => m.record));
        if (written.length) {
          // A worker taken for dead while it was frozen may have had its staged bodies swept: then
          // nothing of the batch is kept, and the next cycle fetches them again.
          const { rowCount } = await client.query(`DELETE FROM ${SCHEMA}.staged WHERE id = ANY($1::text[])`, [written]);
          if (rowCount !== written.length) throw new MailboxError('ETEMPFAIL', `account ${batch.account}: messages of this batch were removed while staged (this worker was taken for dead); nothing of the batch was kept`);
        }
        await this.seen.apply(client, batch.account, batch.seen);
      });
    } catch (err) {
      // Nothing of the batch is kept (a commit whose answer was lost may have been: then its rows
      // name these bodies, and they stay).
      await deleteUnrecorded(this.db, written).catch(() => undefined);
      throw alreadyStored(err, batch.account) ?? err;
    }
  }

  private async dropAll(ids: readonly string[]): Promise<void> {
    const written = ids.filter((id) => {
      const s = this.forget(id);
      return s !== undefined && s.body === undefined;
    });
    await deleteUnrecorded(this.db, written).catch(() => undefined);
  }

  async held(account: string, sources: readonly string[]): Promise<Set<string>> {
    if (sources.length === 0) return new Set();
    const { rows } = await this.db.query<{ source: string }>(`SELECT source FROM ${SCHEMA}.emails WHERE account_key = $1 AND source = ANY($2::text[])`, [
      account.toLowerCase(),
      [...sources],
    ]);
    return new Set(rows.map((r) => r.source));
  }

  /** Bodies left staged by a worker that is no longer alive (or by no worker): removed; how many. */
  async sweep(): Promise<number> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT s.id FROM ${SCHEMA}.staged s
       WHERE s.worker_id IS DISTINCT FROM $1
         AND NOT EXISTS (SELECT 1 FROM ${SCHEMA}.workers w WHERE w.id = s.worker_id AND w.expires_at > now())`,
      [this.fence.worker],
    );
    await deleteUnrecorded(this.db, rows.map((r) => r.id));
    return rows.length;
  }
}

/** The unique key refused a message stored already (another process stored it first): temporary. */
function alreadyStored(err: unknown, account: string): MailboxError | undefined {
  const cause = (err as { cause?: { code?: string; constraint?: string; detail?: string } })?.cause;
  if (cause?.code !== '23505' || cause.constraint !== 'emails_source') return undefined;
  return new MailboxError('ETEMPFAIL', `account ${account}: a message of this batch is stored already (${cause.detail ?? 'same source id'}); nothing of the batch was kept`, {
    hint: 'the next cycle recognises it and fetches only what is missing',
    cause: err,
  });
}
