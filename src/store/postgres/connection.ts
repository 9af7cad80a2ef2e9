// The database connection: one node-postgres pool per process, the name a database is shown by (never
// its password), transactions, and what a database failure means to the user (one MailboxError per
// failure, mapped once here: unreachable 69, login refused 77, temporary 75, anything else 74).
import pg from 'pg';
import { MailboxError, shown } from '../../core/errors.js';

export type Client = pg.PoolClient;

/** A pool, a client of it, or a session: whatever runs one statement. */
export interface Queryable {
  query<R extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** Where the database is, for messages: `postgres://USER@HOST:PORT/NAME`, without the password. */
export interface DatabaseName {
  /** The URL without its password or query. */
  shown: string;
  host: string;
  port: number;
  database: string;
  user: string;
}

const SCHEMES = new Set(['postgres:', 'postgresql:']);

/** Checks the URL's form (the value is echoed without its password); throws EVALUE naming `field`. */
export function databaseName(url: string, field = 'database'): DatabaseName {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MailboxError('EVALUE', `invalid ${field} ${shown(withoutPassword(url))}: expected a URL such as postgres://user@host:5432/mailbox`, { field });
  }
  if (!SCHEMES.has(parsed.protocol)) {
    throw new MailboxError('EVALUE', `invalid ${field} ${shown(withoutPassword(url))}: expected a postgres:// or postgresql:// URL`, { field });
  }
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw new MailboxError('EVALUE', `invalid ${field} ${shown(withoutPassword(url))}: a %-escape in its user, host or name is not valid`, { field });
    }
  };
  const host = decode(parsed.hostname || parsed.searchParams.get('host') || 'localhost');
  const port = Number(parsed.port || 5432);
  const database = decode(parsed.pathname.replace(/^\//, '')) || decode(parsed.username) || 'postgres';
  // Without a user in the URL, node-postgres takes PGUSER or the login name: shown as such.
  const user = decode(parsed.username);
  const who = user ? `${encodeURIComponent(user)}@` : '';
  return { shown: `${parsed.protocol}//${who}${parsed.host || host}${parsed.pathname}`, host, port, database, user };
}

/**
 * A URL as text that may be shown: everything between the scheme and the last "@" (user and password)
 * replaced, so a password holding "/" or "@" (a URL that does not parse) is not shown either.
 */
function withoutPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^]*@/i, '$1***@');
}

export interface Database {
  readonly pool: pg.Pool;
  readonly name: DatabaseName;
  /** A client of the pool; a failure to connect is the user's kind of error (69, 77, 78). */
  connect(): Promise<Client>;
  /** One statement on any client of the pool. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /** `work` in one transaction: committed when it resolves, rolled back (nothing written) when it throws. */
  transaction<T>(work: (client: Client) => Promise<T>): Promise<T>;
  /** A connection of its own, outside the pool: a session lock lives exactly as long as it. */
  session(): Promise<pg.Client>;
  /** From now on the server ends a transaction of this process that waits on it longer than this (a frozen worker's). */
  limitIdleTransactions(ms: number): void;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Connections at most (a runner reads several accounts at once). */
  max?: number;
}

// The one connection MAILBOX_DNS_SERVERS does not reach (README): pg resolves its host through the
// system and takes no lookup. Handing it an address resolved by us instead would mean rebuilding
// its TLS settings around the name (sslmode from the URL) and would break ~/.pgpass, matched by host.
export function openDatabase(url: string, options: DatabaseOptions = {}): Database {
  const name = databaseName(url);
  const settings = { connectionString: url, connectionTimeoutMillis: 15_000, keepAlive: true, application_name: 'mailbox' };
  const pool = new pg.Pool({
    ...settings,
    max: options.max ?? 8,
    idleTimeoutMillis: 10_000,
    // A command that forgets to close does not hang on idle connections.
    allowExitOnIdle: true,
  });
  // An idle connection that breaks (a server restart) is dropped by the pool; the next use reconnects.
  pool.on('error', () => undefined);
  // A connection that breaks while checked out must not crash the process: the query fails instead.
  // Guarded as the pool hands it out the first time, in the same tick (the server may end it in the
  // very packet that completes the login).
  pool.on('connect', (client) => client.on('error', () => undefined));
  let closed: Promise<void> | undefined;

  let idleLimitMs: number | undefined;
  const connect = async (): Promise<Client> => {
    let client: Client;
    try {
      client = await pool.connect();
    } catch (err) {
      throw connectError(err, name);
    }
    const c = client as Client & { mailboxIdleLimit?: number };
    if (idleLimitMs !== undefined && c.mailboxIdleLimit !== idleLimitMs) {
      try {
        await client.query(`SET idle_in_transaction_session_timeout = ${Math.round(idleLimitMs)}`);
        c.mailboxIdleLimit = idleLimitMs;
      } catch (err) {
        client.release(err as Error);
        throw queryError(err, name);
      }
    }
    return client;
  };

  return {
    pool,
    name,
    connect,
    async query(text, values) {
      // A read that finds its pooled connection dead (the server restarted, or cut it) is tried once
      // more on a new one: it changed nothing.
      for (let attempt = 0; ; attempt++) {
        const client = await connect();
        let broken: unknown;
        try {
          return await client.query(text, values);
        } catch (err) {
          broken = isConnectionLoss(err) ? err : undefined;
          if (broken && attempt === 0 && READ_ONLY.test(text)) continue;
          throw queryError(err, name);
        } finally {
          client.release(broken as Error | undefined);
        }
      }
    },
    async transaction(work) {
      const client = await connect();
      let broken: unknown;
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // A connection that cannot even roll back is not given back to the pool.
        await client.query('ROLLBACK').catch((rollback) => (broken = rollback));
        throw queryError(err, name);
      } finally {
        client.release(broken as Error | undefined);
      }
    },
    async session() {
      const client = new pg.Client(settings);
      client.on('error', () => undefined); // a lost session is noticed by its owner ('end')
      try {
        await client.connect();
      } catch (err) {
        await client.end().catch(() => undefined);
        throw connectError(err, name);
      }
      return client;
    },
    limitIdleTransactions(ms) {
      idleLimitMs = ms;
    },
    close() {
      return (closed ??= pool.end().catch(() => undefined));
    },
  };
}

const READ_ONLY = /^\s*(SELECT|SHOW)\b/i;

/** No server answers there (a server that answers and then hangs up is busy, not unreachable). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EADDRNOTAVAIL']);

function codeOf(err: unknown): string {
  return String((err as { code?: unknown })?.code ?? '');
}

function messageOf(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

/** A connection that broke (or could not be made) rather than a statement the server refused. */
export function isConnectionLoss(err: unknown): boolean {
  const code = codeOf(err);
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || UNREACHABLE.has(code) || code === 'ECONNRESET' || code === 'EPIPE') return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(messageOf(err));
}

/** A failure to connect: unreachable (69), login refused (77), no such database (78), TLS (76), busy (75). */
function connectError(err: unknown, db: DatabaseName): MailboxError {
  if (err instanceof MailboxError) return err;
  const code = codeOf(err);
  const where = `database ${db.shown}`;
  if (code === '28P01' || code === '28000') {
    const who = db.user ? `user ${shown(db.user)}` : 'the default user (PGUSER)';
    return new MailboxError('EAUTH', `${where} refused the login of ${who}: ${messageOf(err)}`, {
      hint: 'check the user name and password of the database URL (or the PGPASSWORD variable, or ~/.pgpass)',
      cause: err,
    });
  }
  if (code === '3D000') {
    return new MailboxError('ECONFIG', `${where} does not exist on the server`, { hint: 'create it (createdb), or correct the database name in the URL', cause: err });
  }
  if (code === '57P03' || code === '53300' || code.startsWith('53')) {
    return new MailboxError('ETEMPFAIL', `${where} cannot take a connection now: ${messageOf(err)}`, { hint: 'try again in a moment', cause: err });
  }
  if (/SSL|TLS|certificate|self[- ]signed/i.test(messageOf(err)) && !UNREACHABLE.has(code)) {
    return new MailboxError('ETLS', `${where}: TLS failed: ${messageOf(err)}`, { hint: 'check sslmode and the certificates named in the database URL', cause: err });
  }
  if (UNREACHABLE.has(code) || /timeout/i.test(messageOf(err))) {
    const why = code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? `host ${db.host} not found` : messageOf(err);
    return new MailboxError('EUNREACHABLE', `${where} is unreachable: ${why}`, {
      hint: 'check the host and port of the database URL and that PostgreSQL is running there',
      cause: err,
    });
  }
  return queryError(err, db);
}

/** A failure while working: temporary (75: connection lost, serialization, deadlock, timeout) or not (74). */
export function queryError(err: unknown, db: DatabaseName): MailboxError {
  if (err instanceof MailboxError) return err;
  const code = codeOf(err);
  const where = `database ${db.shown}`;
  const state = /^[0-9A-Z]{5}$/.test(code) ? ` (SQLSTATE ${code})` : '';
  if (code === '28P01' || code === '28000' || code === '42501') {
    return new MailboxError('EAUTH', `${where} refused: ${messageOf(err)}${state}`, { hint: 'check the privileges of the database user', cause: err });
  }
  if (isConnectionLoss(err)) {
    return new MailboxError('ETEMPFAIL', `${where}: the connection was lost: ${messageOf(err)}`, {
      hint: 'nothing of the interrupted step was kept; try again once the database is back',
      cause: err,
    });
  }
  if (code.startsWith('40') || code === '55P03' || code === '57014' || code === '53300' || code === '53400') {
    return new MailboxError('ETEMPFAIL', `${where}: ${messageOf(err)}${state}`, { hint: 'nothing of the interrupted step was kept; try again', cause: err });
  }
  return new MailboxError('EIO', `${where}: ${messageOf(err)}${state}`, { hint: 'nothing of the failed step was kept', cause: err });
}
