// A throwaway PostgreSQL (Debian's postgresql package) on 127.0.0.1, everything in one temp dir: data,
// Unix socket, log. Started in the foreground as our child. PostgreSQL refuses to run as root, so as
// root the server runs as the `postgres` user the package creates (the dir is handed to it).
//
// `url` is the account the tool uses (role mailbox, scram-sha-256 over TCP); `admin` runs SQL as the
// superuser through the socket (trust), for what tests do behind the tool's back (pg_terminate_backend).
import { execFile } from 'node:child_process';
import { chown, mkdtemp, rm, writeFile, appendFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, HOST } from './ports.js';
import { spawnDaemon, tailStderr, trackDir, type Daemon } from './procs.js';

const run = promisify(execFile);

export const PG_USER = 'mailbox';
export const PG_PASSWORD = 'mailbox-pw';
export const PG_DATABASE = 'mailbox';

export interface Postgres {
  host: typeof HOST;
  port: number;
  /** postgres://mailbox:...@127.0.0.1:PORT/mailbox */
  url: string;
  dir: string;
  /** Runs SQL as the superuser (psql -At); resolves with its output. */
  admin(sql: string, database?: string): Promise<string>;
  /** A fresh empty database owned by mailbox; returns its URL (one per test file keeps them apart). */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown: open sessions are cut) and starts it again on the same port. */
  restart(): Promise<void>;
  /** Stops and deletes everything; idempotent. */
  stop(): Promise<void>;
}

async function pgBin(): Promise<string> {
  const { readdir } = await import('node:fs/promises');
  const versions = (await readdir('/usr/lib/postgresql').catch(() => [] as string[])).sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('PostgreSQL is not installed (apt-get install postgresql; test/run.sh does it as root)');
  return path.join('/usr/lib/postgresql', versions[0]!, 'bin');
}

const isRoot = () => process.getuid?.() === 0;

/** A PostgreSQL program as the user that owns the data (postgres when we are root). setpriv execs
 *  in place, so the pid we hold (and signal) is the program's own. */
function ownerCommand(bin: string, args: string[]): [string, string[]] {
  return isRoot() ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', bin, ...args]] : [bin, args];
}

function asOwner(bin: string, args: string[]): Promise<{ stdout: string }> {
  return run(...ownerCommand(bin, args));
}

export async function startPostgres(): Promise<Postgres> {
  const bin = await pgBin();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mbx-pg-'));
  const untrack = trackDir(dir);
  const data = path.join(dir, 'data');
  try {
    if (isRoot()) {
      const { stdout } = await run('id', ['-u', 'postgres']).catch(() => {
        throw new Error('PostgreSQL refuses to run as root and there is no postgres user (install the postgresql package)');
      });
      const uid = Number(stdout.trim());
      await chown(dir, uid, -1);
    }
    await chmod(dir, 0o700);
    await asOwner(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    // Throwaway data: no fsync (a test never survives a power cut); everything else as in production.
    await appendFile(
      path.join(data, 'postgresql.conf'),
      ['fsync = off', 'full_page_writes = off', 'max_connections = 200', "log_min_messages = warning", 'log_connections = off'].join('\n') + '\n',
    );
    await writeFile(
      path.join(data, 'pg_hba.conf'),
      ['local all all trust', `host all postgres ${HOST}/32 trust`, `host all all ${HOST}/32 scram-sha-256`].join('\n') + '\n',
    );
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    untrack();
    throw e;
  }
  const port = await freePort();
  let daemon: Daemon | undefined;
  const launch = async () => {
    const args = ['-D', data, '-k', dir, '-p', String(port), '-c', `listen_addresses=${HOST}`];
    const [cmd, argv] = ownerCommand(path.join(bin, 'postgres'), args);
    // SIGINT is PostgreSQL's fast shutdown: sessions are cut, the server exits at once.
    daemon = spawnDaemon(cmd, argv, { killSignal: 'SIGINT', removeDir: dir });
    const stderr = tailStderr(daemon.child);
    for (let i = 0; ; i++) {
      try {
        await run(path.join(bin, 'pg_isready'), ['-h', dir, '-p', String(port), '-q']);
        return;
      } catch {
        if (daemon.child.exitCode !== null || i > 150) throw new Error(`PostgreSQL did not start: ${stderr()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const psql = async (sql: string, database = 'postgres') =>
    (await run(path.join(bin, 'psql'), ['-h', dir, '-p', String(port), '-U', 'postgres', '-d', database, '-qAt', '-v', 'ON_ERROR_STOP=1', '-c', sql])).stdout;
  const urlOf = (db: string) => `postgres://${PG_USER}:${PG_PASSWORD}@${HOST}:${port}/${db}`;
  let stopped: Promise<void> | undefined;
  try {
    await launch();
    await psql(`CREATE ROLE ${PG_USER} LOGIN PASSWORD '${PG_PASSWORD}'`);
    await psql(`CREATE DATABASE ${PG_DATABASE} OWNER ${PG_USER}`);
  } catch (e) {
    await daemon?.stop('SIGINT');
    await rm(dir, { recursive: true, force: true });
    untrack();
    throw e;
  }
  return {
    host: HOST,
    port,
    url: urlOf(PG_DATABASE),
    dir,
    admin: psql,
    async createDatabase(name) {
      await psql(`CREATE DATABASE ${name} OWNER ${PG_USER}`);
      return urlOf(name);
    },
    async restart() {
      await daemon!.stop('SIGINT');
      await launch();
    },
    stop() {
      stopped ??= (async () => {
        await daemon?.stop('SIGINT');
        await rm(dir, { recursive: true, force: true });
        untrack();
      })();
      return stopped;
    },
  };
}
