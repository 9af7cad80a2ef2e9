// One runner per database: a session-level advisory lock, held by a connection of the runner's own for
// as long as it runs, and a row saying who holds it (pid, host, since when). A runner killed anywhere
// loses its session, so the lock is free at once; its row, still there, tells the next runner that
// its last work must be checked. A runner whose session breaks (the server restarted) takes the lock
// again as soon as the database answers (and at the latest at its next write); if another runner has
// taken it meanwhile, this one's writes are refused.
// (A fleet replaces this with a lease per account: see fence.ts.)
import os from 'node:os';
import type pg from 'pg';
import { MailboxError } from '../../core/errors.js';
import type { HeldRunLock, RunLock } from '../types.js';
import { queryError, type Client, type Database, type Queryable } from './connection.js';
import type { Fence } from './fence.js';
import { LOCK_CLASS, LOCKS, SCHEMA } from './schema.js';

interface Holder {
  pid: number;
  host: string;
  startedAt: Date;
}

export interface RunLockOptions {
  pid: number;
  clock: () => Date;
  host?: string;
}

export class PgRunLock implements RunLock, Fence {
  private session: pg.Client | undefined;
  private state: 'free' | 'held' | 'lost' | 'taken' = 'free';
  private readonly host: string;
  private startedAt: Date | undefined;
  private retaking: Promise<void> | undefined;
  /** The generation of the lock this process took last (see fence.ts). */
  private generation = 0;

  constructor(
    private readonly db: Database,
    private readonly options: RunLockOptions,
  ) {
    this.host = options.host ?? os.hostname();
  }

  async acquire(): Promise<HeldRunLock> {
    const { previous } = await this.take();
    return { tookOverFrom: previous?.pid ?? null, release: () => this.release() };
  }

  /** Takes the lock on a session of its own; ELOCKED naming the holder when another runner has it. */
  private async take(): Promise<{ previous: Holder | undefined }> {
    const session = await this.db.session();
    try {
      const { rows } = await session.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS got', [LOCK_CLASS, LOCKS.run]);
      if (!rows[0]?.got) {
        const holder = await this.row(session);
        throw locked(holder, this.db);
      }
      const previous = await this.row(session);
      const mine = previous && this.startedAt && previous.pid === this.options.pid && previous.host === this.host;
      this.startedAt ??= this.options.clock();
      const taken = await session.query<{ generation: string }>(
        `INSERT INTO ${SCHEMA}.run_lock (id, pid, host, started_at, generation) VALUES (1, $1, $2, $3, nextval('${SCHEMA}.run_lock_generation'))
         ON CONFLICT (id) DO UPDATE SET pid = EXCLUDED.pid, host = EXCLUDED.host, started_at = EXCLUDED.started_at, generation = EXCLUDED.generation
         RETURNING generation`,
        [this.options.pid, this.host, this.startedAt],
      );
      this.generation = Number(taken.rows[0]!.generation);
      session.once('end', () => {
        if (this.session !== session || this.state !== 'held') return;
        this.state = 'lost';
        this.retakeSoon(0);
      });
      this.session = session;
      this.state = 'held';
      return { previous: mine ? undefined : previous };
    } catch (err) {
      await session.end().catch(() => undefined);
      throw queryError(err, this.db.name);
    }
  }

  private async row(client: Queryable): Promise<Holder | undefined> {
    const { rows } = await client.query<{ pid: number; host: string; started_at: Date }>(`SELECT pid, host, started_at FROM ${SCHEMA}.run_lock WHERE id = 1`);
    return rows[0] && { pid: rows[0].pid, host: rows[0].host, startedAt: rows[0].started_at };
  }

  async holder(): Promise<number | null> {
    return (await this.runner())?.pid ?? null;
  }

  /** The runner holding the store (its session holds the lock), or undefined. */
  async runner(): Promise<Holder | undefined> {
    const { rows } = await this.db.query<{ pid: number; host: string; started_at: Date }>(
      `SELECT r.pid, r.host, r.started_at FROM ${SCHEMA}.run_lock r
       WHERE EXISTS (SELECT 1 FROM pg_locks l
                     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                       AND l.classid::bigint = $1 AND l.objid::bigint = $2
                       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))`,
      [LOCK_CLASS, LOCKS.run],
    );
    return rows[0] && { pid: rows[0].pid, host: rows[0].host, startedAt: rows[0].started_at };
  }

  /** The fence of a runner's writes: nothing to check unless this process took the lock. */
  async check(client: Client): Promise<void> {
    if (this.state === 'free') return;
    if (this.state === 'lost') await this.retake();
    if (this.state === 'taken') throw this.takenError();
    // The session's end may not have been noticed yet: the row tells, and holds the next take back.
    const { rows } = await client.query<{ generation: string }>(`SELECT generation FROM ${SCHEMA}.run_lock WHERE id = 1 FOR SHARE`);
    if (Number(rows[0]?.generation) === this.generation) return;
    this.state = 'taken';
    throw this.takenError();
  }

  /** The session broke: take the lock again (once, however many writes ask at the same time). */
  private async retake(): Promise<void> {
    await (this.retaking ??= this.take()
      .then(
        () => undefined,
        (err: unknown) => {
          if (err instanceof MailboxError && err.code === 'ELOCKED') this.state = 'taken';
          throw err;
        },
      )
      .finally(() => (this.retaking = undefined)));
  }

  /** After a lost session: the lock taken again as soon as the database answers (so status tells the truth). */
  private retakeSoon(delayMs: number): void {
    const timer = setTimeout(() => {
      if (this.state !== 'lost') return;
      this.retake().catch(() => {
        if (this.state === 'lost') this.retakeSoon(Math.min(5000, Math.max(500, delayMs * 2)));
      });
    }, delayMs);
    timer.unref();
  }

  private takenError(): MailboxError {
    return new MailboxError('ELOCKED', `another mailbox runner took database ${this.db.name.shown} over while this runner's connection was lost`, {
      hint: 'this runner writes nothing more: stop it',
    });
  }

  /** The store closes while the lock is held (a way out that skipped release): the session ends, the row stays. */
  async abandon(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    this.state = 'free';
    await session?.end().catch(() => undefined);
  }

  private async release(): Promise<void> {
    const session = this.session;
    const held = this.state === 'held';
    this.session = undefined;
    this.state = 'free';
    if (!session) return;
    try {
      // Only our own row: after a lost session another runner's may be there.
      await session.query(`DELETE FROM ${SCHEMA}.run_lock WHERE id = 1 AND pid = $1 AND host = $2`, [this.options.pid, this.host]);
      if (held) await session.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, LOCKS.run]);
    } catch {
      // The session is gone, and the lock with it; a row left behind only says the stop was not clean.
    } finally {
      await session.end().catch(() => undefined);
    }
  }
}

function locked(holder: Holder | undefined, db: Database): MailboxError {
  const who = holder ? `pid ${holder.pid} on ${holder.host}` : 'another process';
  return new MailboxError('ELOCKED', `another mailbox runner (${who}) holds database ${db.name.shown}`, {
    hint: 'stop it first; one runner works on a database at a time',
  });
}
