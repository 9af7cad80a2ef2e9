// A fleet worker: any number of `mailbox run` on one database, coordinated by PostgreSQL alone.
// - The worker is a row (host, pid, started, heartbeat) alive while its expiry is ahead; a timer moves
//   it on, with every lease the worker holds, every quarter of a lease, so a download of any length
//   keeps its lease while the process lives (a frozen or cut-off worker's leases run out).
// - Each active incoming account is leased by one worker at a time. At every read cycle a worker
//   renews what it holds, gives back what it holds beyond its share (the accounts divided by the live
//   workers, rounded up) and takes free or expired leases up to its share (FOR UPDATE SKIP LOCKED), so
//   a new worker gets its part within a cycle or two and a dead one's are taken after they expire.
//   A take gives a new fencing number (a sequence) and is written to lease_history.
// - Every write of an account's mail checks the lease (fence.ts); a worker that finds it gone says so
//   and leaves the account.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { MailboxError } from '../../core/errors.js';
import type { FleetView, HeldRunLock, RunLock, Share } from '../types.js';
import type { Client, Database } from './connection.js';
import type { Fence } from './fence.js';
import { SCHEMA } from './schema.js';
import { settingValue } from './settings.js';

export interface FleetSettings {
  leaseMs: number;
  claimBatch: number;
  concurrency: number;
}

/** The fleet's settings from the settings table (db status shows them); out of range: the default. */
export function fleetSettings(settings: Record<string, unknown>): FleetSettings {
  return {
    leaseMs: settingValue(settings, 'lease_seconds') * 1000,
    claimBatch: settingValue(settings, 'claim_batch'),
    concurrency: settingValue(settings, 'worker_concurrency'),
  };
}

export interface WorkerOptions {
  pid: number;
  clock: () => Date;
  isAlive: (pid: number) => boolean;
  settings: FleetSettings;
  host?: string;
}

export class PgWorker implements RunLock, Fence {
  readonly id = randomUUID();
  private started = false;
  /** Leases held: account key -> fencing number. */
  private readonly held = new Map<string, number>();
  /** Leases found taken by another worker, not yet reported. */
  private readonly lost = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private readonly host: string;

  constructor(
    private readonly db: Database,
    private readonly options: WorkerOptions,
  ) {
    this.host = options.host ?? os.hostname();
  }

  get worker(): string | null {
    return this.started ? this.id : null;
  }

  private get leaseSecs(): number {
    return this.options.settings.leaseMs / 1000;
  }

  async acquire(): Promise<HeldRunLock> {
    // A worker frozen in the middle of a write holds its lease row locked: the server ends such a
    // transaction once it has been idle for a lease, so the others can take the account over.
    this.db.limitIdleTransactions(Math.max(1000, this.options.settings.leaseMs));
    // A worker of this host whose process is gone (killed) is dead now, not when its lease runs out.
    const { rows } = await this.db.query<{ id: string; pid: number }>(`SELECT id, pid FROM ${SCHEMA}.workers WHERE host = $1 AND expires_at > now()`, [this.host]);
    const dead = rows.filter((r) => r.pid === this.options.pid || !this.options.isAlive(r.pid));
    await this.db.transaction(async (client) => {
      if (dead.length) {
        const ids = dead.map((d) => d.id);
        await client.query(`UPDATE ${SCHEMA}.workers SET expires_at = now() WHERE id = ANY($1::text[])`, [ids]);
        await client.query(`UPDATE ${SCHEMA}.leases SET expires_at = now() WHERE worker_id = ANY($1::text[]) AND expires_at > now()`, [ids]);
      }
      // Dead for a day: no longer shown.
      await client.query(`DELETE FROM ${SCHEMA}.workers WHERE expires_at < now() - interval '1 day'`);
      await this.register(client, this.options.clock());
    });
    this.started = true;
    this.timer = setInterval(() => void this.beat().catch(() => undefined), Math.max(250, this.options.settings.leaseMs / 4));
    this.timer.unref();
    return {
      tookOverFrom: dead[0]?.pid ?? null,
      concurrency: this.options.settings.concurrency,
      share: (accounts) => this.share(accounts),
      release: () => this.release(),
    };
  }

  private startedAt: Date | undefined;

  private async register(client: Client, now: Date): Promise<void> {
    this.startedAt ??= now;
    await client.query(
      `INSERT INTO ${SCHEMA}.workers (id, host, pid, started_at, heartbeat, expires_at) VALUES ($1, $2, $3, $4, now(), now() + make_interval(secs => $5))
       ON CONFLICT (id) DO UPDATE SET heartbeat = now(), expires_at = EXCLUDED.expires_at`,
      [this.id, this.host, this.options.pid, this.startedAt, this.leaseSecs],
    );
  }

  /** The heartbeat: the worker row and every lease held moved on; a lease found taken is lost. */
  beat(): Promise<void> {
    return (this.beating ??= this.db
      .transaction(async (client) => {
        if (!this.started) return;
        await this.register(client, this.options.clock());
        const keys = [...this.held.keys()];
        if (keys.length === 0) return;
        const { rows } = await client.query<{ account_key: string }>(
          `UPDATE ${SCHEMA}.leases l SET expires_at = greatest(l.expires_at, now() + make_interval(secs => $4))
           FROM unnest($2::text[], $3::bigint[]) AS m(k, f)
           WHERE l.account_key = m.k AND l.fencing = m.f AND l.worker_id = $1
           RETURNING l.account_key`,
          [this.id, keys, keys.map((k) => this.held.get(k)), this.leaseSecs],
        );
        const renewed = new Set(rows.map((r) => r.account_key));
        for (const key of keys) if (!renewed.has(key)) this.loseLease(key);
      })
      .finally(() => (this.beating = undefined)));
  }

  private loseLease(key: string): void {
    if (this.held.delete(key)) this.lost.add(key);
  }

  /** The accounts (of those given) this worker reads this cycle; see the top of this file. */
  async share(accounts: readonly string[]): Promise<Share> {
    await this.beat();
    const wanted = [...new Set(accounts.map((a) => a.toLowerCase()))].sort();
    const wantedSet = new Set(wanted);
    await this.db.transaction(async (client) => {
      if (wanted.length) {
        // Only accounts without a lease row: an existing row another worker's write holds locked
        // (that worker frozen mid-transaction) must not hold this worker up.
        await client.query(
          `INSERT INTO ${SCHEMA}.leases (account_key, fencing, expires_at)
           SELECT k, 0, '-infinity' FROM unnest($1::text[]) AS k WHERE NOT EXISTS (SELECT 1 FROM ${SCHEMA}.leases l WHERE l.account_key = k)
           ON CONFLICT DO NOTHING`,
          [wanted],
        );
      }
      const live = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${SCHEMA}.workers WHERE expires_at > now()`)).rows[0]?.n ?? 1);
      const quota = Math.ceil(wanted.length / Math.max(1, live));
      const mine = [...this.held.keys()].filter((k) => wantedSet.has(k)).sort();
      const giveBack = [...[...this.held.keys()].filter((k) => !wantedSet.has(k)), ...mine.slice(quota)];
      if (giveBack.length) {
        await client.query(
          `UPDATE ${SCHEMA}.leases l SET expires_at = now() FROM unnest($2::text[], $3::bigint[]) AS m(k, f)
           WHERE l.account_key = m.k AND l.fencing = m.f AND l.worker_id = $1`,
          [this.id, giveBack, giveBack.map((k) => this.held.get(k))],
        );
      }
      const room = quota - Math.min(mine.length, quota);
      const free = wanted.filter((k) => !this.held.has(k));
      if (room > 0 && free.length) {
        const { rows } = await client.query<{ account_key: string; fencing: string }>(
          `WITH free AS (
             SELECT account_key, worker_id, expires_at FROM ${SCHEMA}.leases
             WHERE account_key = ANY($2::text[]) AND expires_at < now()
             ORDER BY expires_at, account_key LIMIT $3 FOR UPDATE SKIP LOCKED
           ), taken AS (
             UPDATE ${SCHEMA}.leases l SET worker_id = $1, fencing = nextval('${SCHEMA}.lease_fencing'), taken_at = now(), expires_at = now() + make_interval(secs => $4)
             FROM free f WHERE l.account_key = f.account_key
             RETURNING l.account_key, l.fencing, f.worker_id AS previous_worker, f.expires_at AS previous_expires_at
           ), logged AS (
             INSERT INTO ${SCHEMA}.lease_history (account_key, fencing, worker_id, taken_at, previous_worker, previous_expires_at)
             SELECT account_key, fencing, $1, now(), previous_worker, previous_expires_at FROM taken
           )
           SELECT account_key, fencing FROM taken`,
          [this.id, free, room, this.leaseSecs],
        );
        // Held only once the transaction commits (below).
        return { giveBack, taken: rows };
      }
      return { giveBack, taken: [] };
    }).then(({ giveBack, taken }) => {
      for (const key of giveBack) this.held.delete(key);
      for (const row of taken) this.held.set(row.account_key, Number(row.fencing));
    });
    const lost = [...this.lost];
    this.lost.clear();
    return { accounts: new Set(wanted.filter((k) => this.held.has(k))), lost };
  }

  async check(client: Client, account: string): Promise<void> {
    if (!this.started) return;
    const key = account.toLowerCase();
    const fencing = this.held.get(key);
    if (fencing !== undefined) {
      const { rows } = await client.query(`SELECT 1 FROM ${SCHEMA}.leases WHERE account_key = $1 AND worker_id = $2 AND fencing = $3 FOR SHARE`, [key, this.id, fencing]);
      if (rows.length) return;
      this.loseLease(key);
    }
    throw new MailboxError('ELOCKED', `account ${account}: another worker took its lease over (this worker was stopped or cut off from database ${this.db.name.shown} past the lease); nothing of this step was kept`, {
      hint: 'this worker leaves the account to the one holding it now and goes on with the others',
    });
  }

  async holder(): Promise<number | null> {
    const { rows } = await this.db.query<{ pid: number; host: string }>(`SELECT pid, host FROM ${SCHEMA}.workers WHERE expires_at > now() ORDER BY started_at, id`);
    return rows.find((w) => this.mayLive(w))?.pid ?? null;
  }

  async fleet(): Promise<FleetView> {
    const view = await fleetView(this.db);
    return { ...view, workers: view.workers.map((w) => ({ ...w, alive: w.alive && this.mayLive(w) })) };
  }

  /** A worker of this host whose process is gone is dead now (killed), not when its lease runs out; others: their row says. */
  private mayLive(w: { host: string; pid: number }): boolean {
    return w.host !== this.host || this.options.isAlive(w.pid);
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.started = false;
  }

  /** The store closes without a release (a way out that skipped it): the row stays until it expires. */
  abandon(): void {
    this.stop();
  }

  private async release(): Promise<void> {
    if (!this.started) return;
    this.stop();
    await this.beating?.catch(() => undefined);
    const keys = [...this.held.keys()];
    this.held.clear();
    // The leases free at once, and the worker gone: what it claimed and did not send is due again.
    await this.db
      .transaction(async (client) => {
        await client.query(
          `UPDATE ${SCHEMA}.leases l SET expires_at = now() FROM unnest($2::text[]) AS m(k) WHERE l.account_key = m.k AND l.worker_id = $1 AND l.expires_at > now()`,
          [this.id, keys],
        );
        await client.query(`DELETE FROM ${SCHEMA}.workers WHERE id = $1`, [this.id]);
      })
      .catch(() => undefined); // unreachable: the row and the leases run out by themselves
  }
}

/** The workers (alive or dead within the day) and which one holds each account's lease now. */
export async function fleetView(db: Pick<Database, 'query'>): Promise<FleetView> {
  const [workers, leases] = await Promise.all([
    db.query<{ id: string; host: string; pid: number; started_at: Date; heartbeat: Date; alive: boolean }>(
      `SELECT id, host, pid, started_at, heartbeat, expires_at > now() AS alive FROM ${SCHEMA}.workers ORDER BY started_at, id`,
    ),
    db.query<{ account_key: string; worker_id: string }>(`SELECT account_key, worker_id FROM ${SCHEMA}.leases WHERE expires_at > now() AND worker_id IS NOT NULL`),
  ]);
  return {
    workers: workers.rows.map((w) => ({ id: w.id, host: w.host, pid: w.pid, startedAt: w.started_at.toISOString(), heartbeat: w.heartbeat.toISOString(), alive: w.alive })),
    holders: Object.fromEntries(leases.rows.map((l) => [l.account_key, l.worker_id])),
  };
}
