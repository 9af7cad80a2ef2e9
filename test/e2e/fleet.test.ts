// A fleet of `mailbox run` workers (the built executable) on one harness PostgreSQL, reading IMAP
// accounts on Dovecot and sending queued mail to the harness SMTP server, while workers are SIGKILLed,
// frozen (SIGSTOP past the lease) and cut off (pg_terminate_backend of their connections). Afterwards:
// every message stored exactly once, byte for byte; every queued message sent at least once; no
// account ever held by two workers at once (lease_history); the killed worker's accounts taken over
// within the lease plus one read interval. A smaller scale than the 50 x 200 and 2,000 (that
// one runs in the benchmark: npm run bench -- --only fleet), so the suite stays fast.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, startSmtp, type Dovecot, type SmtpServer } from '../harness/index.js';
import { baseEnv, BIN, runMailbox, tmpHome } from '../helpers/cli.js';
import { startDatabases, type Databases } from '../helpers/databases.js';
import { addToFolder, fillFolders, fleetAccounts, fleetMessage, queueOutbound, startWorker, type Worker } from '../helpers/fleet.js';

let dovecot: Dovecot;
let smtp: SmtpServer;
let databases: Databases;
const cleanups: Array<() => void> = [];

beforeAll(async () => {
  [dovecot, smtp, databases] = await Promise.all([startDovecot(), startSmtp(), startDatabases()]);
});
afterAll(async () => {
  for (const c of cleanups.splice(0)) c();
  await Promise.all([dovecot?.stop(), smtp?.stop(), databases?.stop()]);
});

const FOLDERS = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6'];
const FIRST = 40;
const SECOND = 10;
const OUTBOUND = 150;
const LEASE_S = 2;
const INTERVAL_S = 1;

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The client ports of a process's connections to the database server (ss shows the owning pid). */
function connectionPorts(pid: number, serverPort: number): number[] {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( dport = :${serverPort} )`], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes(`pid=${pid},`))
    .map((line) => Number(/:(\d+)\s+\S+:\d+\s/.exec(line)?.[1]))
    .filter((port) => port > 0);
}

describe('a fleet of three workers on one database', () => {
  it('killed, frozen and cut off at random moments: every message stored once, byte for byte, every queued one sent, no account held twice', { timeout: 150_000 }, async () => {
    const url = await databases.fresh();
    const name = new URL(url).pathname.slice(1);
    const sql = (text: string) => databases.pg.admin(text, name);
    await sql(`UPDATE mailbox.settings SET value = '${LEASE_S}' WHERE name = 'lease_seconds'; UPDATE mailbox.settings SET value = '10' WHERE name = 'claim_batch'`);
    await fillFolders(dovecot, Object.fromEntries(FOLDERS.map((f) => [f, Array.from({ length: FIRST }, (_, i) => fleetMessage(f, i))])));
    const admin = tmpHome();
    cleanups.push(admin.cleanup);
    const applied = await runMailbox(['apply', '-f', '-'], { home: admin.home, env: { MAILBOX_DATABASE_URL: url }, input: JSON.stringify(fleetAccounts(dovecot, smtp, FOLDERS)) });
    expect(applied.code, applied.stderr).toBe(0);
    const queued = await queueOutbound(url, OUTBOUND);

    const workers: Worker[] = ['a', 'b', 'c'].map(() => {
      const h = tmpHome();
      cleanups.push(h.cleanup);
      const w = startWorker(BIN, baseEnv(), url, h.home, ['--read-interval', `${INTERVAL_S}s`, '--send-interval', `${INTERVAL_S}s`]);
      cleanups.push(() => w.child.kill('SIGKILL'));
      return w;
    });
    const [a, b, c] = workers as [Worker, Worker, Worker];
    const idOf = async (w: Worker) => (await sql(`SELECT id FROM mailbox.workers WHERE pid = ${w.child.pid}`)).trim();
    const accountsOf = async (id: string) => (await sql(`SELECT account_key FROM mailbox.leases WHERE worker_id = '${id}' AND expires_at > now()`)).split('\n').filter(Boolean);
    try {
      // Spread: every worker holds a share of the accounts (two each, once they have settled).
      await until('the accounts spread over three workers', async () => (await sql(`SELECT count(DISTINCT worker_id) FROM mailbox.leases WHERE expires_at > now()`)) === '3\n', 30_000);
      const [idA, idB, idC] = [await idOf(a), await idOf(b), await idOf(c)];
      await new Promise((r) => setTimeout(r, Math.random() * 1000));

      const ofA = await accountsOf(idA);
      const killedAt = Date.now();
      a.child.kill('SIGKILL');
      b.child.kill('SIGSTOP');
      const frozeAt = (await sql('SELECT now()')).trim();
      const ofB = await accountsOf(idB);
      for (const f of FOLDERS) addToFolder(dovecot, f, Array.from({ length: SECOND }, (_, i) => fleetMessage(f, FIRST + i)));
      // C cut off from the database: every connection of its process ended by the server.
      const ports = connectionPorts(c.child.pid!, databases.pg.port);
      expect(ports.length).toBeGreaterThan(0);
      await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE client_port = ANY(ARRAY[${ports.join(',')}]::int[])`);

      // A's accounts taken over (by C: B is frozen) within the lease plus one interval (and some slack for a loaded machine).
      await until('the killed worker\'s accounts taken over', async () => {
        const holders = await sql(`SELECT count(*) FROM mailbox.leases WHERE account_key = ANY(ARRAY['${ofA.join("','")}']) AND worker_id <> '${idA}' AND expires_at > now()`);
        return holders === `${ofA.length}\n`;
      }, 20_000);
      const takeoverMs = Date.now() - killedAt;
      expect(takeoverMs).toBeLessThan((LEASE_S + INTERVAL_S + 4) * 1000);

      // B frozen past its lease, then back: it says its leases were taken and goes on.
      await new Promise((r) => setTimeout(r, Math.max(0, (LEASE_S * 2 + 1) * 1000 - (Date.now() - killedAt))));
      b.child.kill('SIGCONT');
      // (Unless its leases could not be taken: frozen in the middle of a write, it held its lease row
      // locked until the server ended that transaction, and then may have renewed them itself.)
      const takenFromB = ofB.length ? await sql(`SELECT count(*) FROM mailbox.lease_history WHERE account_key = ANY(ARRAY['${ofB.join("','")}']) AND worker_id <> '${idB}' AND taken_at > '${frozeAt}'`) : '0\n';
      if (takenFromB !== '0\n') await until('the frozen worker telling it lost its leases', () => /another worker took its lease over/.test(b.output()), 20_000);

      const total = FOLDERS.length * (FIRST + SECOND);
      await until('every message stored', async () => (await sql(`SELECT count(*) FROM mailbox.emails WHERE state = 'received'`)) === `${total}\n`, 60_000);
      await until('every queued message sent', () => new Set(smtp.messages().map((m) => /Message-ID: <([^>]+)>/.exec(m.raw.toString('latin1'))?.[1])).size >= OUTBOUND, 60_000);

      // Exactly once, byte for byte.
      const rows = (await sql(`SELECT e.record ->> 'messageId', encode(sha256(string_agg(b.data, ''::bytea ORDER BY b.part)), 'hex') FROM mailbox.emails e JOIN mailbox.bodies b ON b.id = e.id WHERE e.state = 'received' GROUP BY e.id`))
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split('|') as [string, string]);
      expect(rows.length).toBe(total);
      const expected = new Map<string, string>(FOLDERS.flatMap((f) => Array.from({ length: FIRST + SECOND }, (_, i) => [`${f}-${i}@fleet.test`, createHash('sha256').update(fleetMessage(f, i)).digest('hex')] as const)));
      expect(new Set(rows.map(([id]) => id)).size).toBe(total);
      for (const [id, sha] of rows) expect(sha, id).toBe(expected.get(id));
      // Sent at least once, each of them; the queue empty.
      const sentIds = new Set(smtp.messages().map((m) => /Message-ID: <([^>]+)>/.exec(m.raw.toString('latin1'))?.[1]));
      for (const id of queued) expect(sentIds.has(id), id).toBe(true);
      // A message the killed worker sent and had not yet marked is sent again once its claim is due: then the outbox is empty.
      await until('the outbox empty', async () => (await sql(`SELECT count(*) FROM mailbox.emails WHERE state <> 'sent' AND state <> 'received'`)) === '0\n', 30_000);
      // Never two holders: every take came after the previous lease ran out, each with a fencing number of its own.
      expect(await sql('SELECT count(*) FROM mailbox.lease_history WHERE taken_at < previous_expires_at')).toBe('0\n');
      expect(await sql('SELECT count(*) - count(DISTINCT fencing) FROM mailbox.lease_history')).toBe('0\n');
      // The fleet as status shows it: the killed worker dead, the two others alive and holding every account.
      const status = JSON.parse((await runMailbox(['status', '--json'], { home: admin.home, env: { MAILBOX_DATABASE_URL: url } })).stdout);
      const alive = status.workers.filter((w: { alive: boolean }) => w.alive).map((w: { id: string }) => w.id).sort();
      expect(alive).toEqual([idB, idC].sort());
      await until('every account held by a live worker', async () => {
        const s = JSON.parse((await runMailbox(['status', '--json'], { home: admin.home, env: { MAILBOX_DATABASE_URL: url } })).stdout);
        return s.accounts.filter((x: { type: string }) => x.type === 'imap').every((x: { worker: string | null }) => x.worker === idB || x.worker === idC);
      }, 20_000);
      // The same in text: a line per worker, and who holds each account; db status counts their accounts.
      const text = await runMailbox(['status'], { home: admin.home, env: { MAILBOX_DATABASE_URL: url } });
      expect(text.stdout).toMatch(new RegExp(`^worker ${idA.slice(0, 8)}: pid ${a.child.pid} on \\S+, started .*, last heartbeat .* \\(dead\\)$`, 'm'));
      expect(text.stdout).toMatch(new RegExp(`^worker ${idC.slice(0, 8)}: pid ${c.child.pid} on \\S+, started .*, last heartbeat [^(]*$`, 'm'));
      expect(text.stdout).toMatch(/\bWORKER\b/);
      // A worker just back from SIGSTOP may hold a lease that ran out for a moment, until its next cycle renews or another takes it.
      const counted = async () => {
        const db = JSON.parse((await runMailbox(['db', 'status', '--json'], { home: admin.home, env: { MAILBOX_DATABASE_URL: url } })).stdout);
        return db.workers.filter((w: { alive: boolean }) => w.alive).reduce((n: number, w: { accounts: number }) => n + w.accounts, 0);
      };
      await until('db status counting every account to a live worker', async () => (await counted()) === FOLDERS.length, 20_000);
      console.log(`fleet: takeover after SIGKILL in ${takeoverMs} ms; ${smtp.messages().length} SMTP deliveries for ${OUTBOUND} queued`);
    } catch (err) {
      console.log(await sql('SELECT *, now() FROM mailbox.workers'), await sql('SELECT *, now() FROM mailbox.leases'));
      console.log(await sql(`SELECT id, state, claimed_by, record ->> 'inFlight' FROM mailbox.emails WHERE state NOT IN ('sent', 'received')`));
      console.log(await sql(`SELECT pid, client_port, state, wait_event_type, wait_event, left(query, 120) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`));
      for (const [i, w] of workers.entries()) console.log(`worker ${'abc'[i]} (pid ${w.child.pid}) output:\n${w.output().slice(-4000)}`);
      throw err;
    } finally {
      b.child.kill('SIGCONT');
      for (const w of [b, c]) w.child.kill('SIGTERM');
      await Promise.all([b.exited, c.exited]);
    }
  });
});
