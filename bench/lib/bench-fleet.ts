// Benchmark "fleet" (npm run bench -- --only fleet): a fleet of `mailbox run` workers on one harness
// PostgreSQL against the local store's single runner. Download: A IMAP accounts (a folder each) of P
// messages, read by `run --once` on the local store, then by 1, 2 and 3 workers on a fresh database
// each; sending: Q queued messages through 1 and 3 workers; takeover: how long after a SIGKILL of a
// worker its accounts are held by the others (lease_seconds 5, read interval 1 s).
import fs from 'node:fs';
import { startPostgres, type Postgres } from '../../test/harness/postgres.js';
import { fillFolders, fleetAccounts, fleetMessage, queueOutbound, startWorker, type Worker } from '../../test/helpers/fleet.js';
import type { BenchEnv } from './env.js';
import { BIN } from './mailbox.js';
import { mustRun } from './proc.js';
import { summarize, type Row, type Section } from './results.js';

const LOCAL = 'mailbox run --once, local store (one runner)';
const workersRow = (n: number) => `${n} worker${n === 1 ? '' : 's'}, database store`;
const LEASE_S = 5;

const baseEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, NO_COLOR: '1' });

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function mailbox(home: string, url: string | undefined, args: string[], input?: string): Promise<void> {
  await mustRun(process.execPath, [BIN, ...args], { env: { ...baseEnv(), MAILBOX_HOME: home, HOME: home, MBX_FLEET_PW: 'alice-secret', ...(url ? { MAILBOX_DATABASE_URL: url } : {}) }, input });
}

async function stopAll(workers: Worker[]): Promise<void> {
  for (const w of workers) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
}

export async function fleetSections(env: BenchEnv): Promise<Section[]> {
  const smoke = env.opts.smoke;
  const accounts = smoke ? 4 : 50;
  const per = smoke ? 10 : 200;
  const queued = smoke ? 50 : 2000;
  const total = accounts * per;
  const folders = Array.from({ length: accounts }, (_, i) => `fleet${i + 1}`);
  await fillFolders(env.dovecot, Object.fromEntries(folders.map((f) => [f, Array.from({ length: per }, (_, i) => fleetMessage(f, i, 4000))])));
  const incoming = fleetAccounts(env.dovecot, env.smtp, folders) as { accounts: Array<{ type: string }> };
  const incomingDoc = JSON.stringify({ accounts: incoming.accounts.filter((a) => a.type !== 'smtp') });
  const smtpDoc = JSON.stringify({ accounts: incoming.accounts.filter((a) => a.type === 'smtp') });
  env.log(`fleet: ${accounts} folders of ${per} messages loaded`);

  const pg: Postgres = await startPostgres();
  let dbCount = 0;
  const database = async () => {
    const url = await pg.createDatabase(`fleet_${++dbCount}`);
    await mailbox(env.fresh('fleet-migrate'), url, ['db', 'migrate']);
    return { url, sql: (text: string) => pg.admin(text, `fleet_${dbCount}`) };
  };
  const startWorkers = (n: number, url: string, args: string[]) => Array.from({ length: n }, () => startWorker(BIN, baseEnv(), url, env.fresh('fleet-worker'), args));
  const download: Row[] = [];
  const other: Row[] = [];
  try {
    // The local store's single runner.
    {
      const home = env.fresh('fleet-local');
      await mailbox(home, undefined, ['apply', '-f', '-'], incomingDoc);
      const t0 = performance.now();
      await mailbox(home, undefined, ['run', '--once']);
      const seconds = (performance.now() - t0) / 1000;
      const stored = fs.readdirSync(`${home}/mail/inbox/new`).length;
      download.push(stored === total ? { tool: LOCAL, status: 'ok', samples: [seconds], messages: total } : { tool: LOCAL, status: 'failed', note: `${stored} of ${total} stored`, samples: [] });
      env.log(`fleet: local runner ${seconds.toFixed(1)} s`);
    }
    // 1, 2, 3 workers already running when the accounts arrive (so each takes its share at once).
    for (const n of [1, 2, 3]) {
      const { url, sql } = await database();
      const workers = startWorkers(n, url, ['--read-interval', '1s', '--send-interval', '1h']);
      try {
        await until(`${n} workers`, async () => (await sql('SELECT count(*) FROM mailbox.workers WHERE expires_at > now()')) === `${n}\n`, 60_000);
        const t0 = performance.now();
        await mailbox(env.fresh('fleet-admin'), url, ['apply', '-f', '-'], incomingDoc);
        await until('every message stored', async () => (await sql('SELECT count(*) FROM mailbox.emails')) === `${total}\n`, 600_000);
        const seconds = (performance.now() - t0) / 1000;
        const twice = await sql('SELECT count(*) - count(DISTINCT (account_key, source)) FROM mailbox.emails');
        const spread = (await sql('SELECT count(*) FROM mailbox.lease_history GROUP BY worker_id ORDER BY 1 DESC')).trim().split('\n').join('/');
        download.push({ tool: workersRow(n), status: twice === '0\n' ? 'ok' : 'failed', samples: [seconds], messages: total, extra: { 'leases taken per worker': spread } });
        env.log(`fleet: ${n} worker(s) ${seconds.toFixed(1)} s (leases ${spread})`);
      } finally {
        await stopAll(workers);
      }
    }
    // Sending through 1 and 3 workers.
    for (const n of [1, 3]) {
      const { url, sql } = await database();
      await mailbox(env.fresh('fleet-admin'), url, ['apply', '-f', '-'], smtpDoc);
      const ids = new Set(await queueOutbound(url, queued));
      const before = env.smtp.messages().length;
      const sent = () => new Set(env.smtp.messages().slice(before).map((m) => /Message-ID: <([^>]+)>/.exec(m.raw.toString('latin1'))?.[1]).filter((id) => id && ids.has(id))).size;
      const t0 = performance.now();
      const workers = startWorkers(n, url, ['--read-interval', '1h', '--send-interval', '1s']);
      try {
        // The database says when (reading the SMTP server's list of messages is too heavy to poll).
        await until('every queued message sent', async () => (await sql(`SELECT count(*) FROM mailbox.emails WHERE state <> 'sent'`)) === '0\n', 600_000);
        const seconds = (performance.now() - t0) / 1000;
        const received = sent();
        other.push(
          received >= queued
            ? { tool: `sending, ${workersRow(n)}`, status: 'ok', samples: [seconds], messages: queued }
            : { tool: `sending, ${workersRow(n)}`, status: 'failed', note: `${received} of ${queued} received`, samples: [] },
        );
        env.log(`fleet: sending through ${n} worker(s) ${seconds.toFixed(1)} s`);
      } finally {
        await stopAll(workers);
      }
    }
    // Takeover after a SIGKILL.
    {
      const { url, sql } = await database();
      await sql(`UPDATE mailbox.settings SET value = '${LEASE_S}' WHERE name = 'lease_seconds'`);
      const workers = startWorkers(3, url, ['--read-interval', '1s', '--send-interval', '1h']);
      try {
        await until('3 workers', async () => (await sql('SELECT count(*) FROM mailbox.workers WHERE expires_at > now()')) === '3\n', 60_000);
        await mailbox(env.fresh('fleet-admin'), url, ['apply', '-f', '-'], incomingDoc);
        await until('every message stored', async () => (await sql('SELECT count(*) FROM mailbox.emails')) === `${total}\n`, 600_000);
        // The worker holding the most accounts.
        const [id, pid] = (await sql(`SELECT w.id, w.pid FROM mailbox.workers w JOIN mailbox.leases l ON l.worker_id = w.id AND l.expires_at > now() GROUP BY w.id, w.pid ORDER BY count(*) DESC LIMIT 1`)).trim().split('|') as [string, string];
        const victim = workers.find((w) => w.child.pid === Number(pid))!;
        const held = (await sql(`SELECT account_key FROM mailbox.leases WHERE worker_id = '${id}' AND expires_at > now()`)).split('\n').filter(Boolean);
        const t0 = performance.now();
        victim.child.kill('SIGKILL');
        await until('the accounts taken over', async () => (await sql(`SELECT count(*) FROM mailbox.leases WHERE account_key = ANY(ARRAY['${held.join("','")}']) AND worker_id <> '${id}' AND expires_at > now()`)) === `${held.length}\n`, 120_000);
        const seconds = (performance.now() - t0) / 1000;
        other.push({ tool: `takeover of ${held.length} accounts after a SIGKILL (lease ${LEASE_S} s, read interval 1 s)`, status: 'ok', samples: [seconds] });
        env.log(`fleet: takeover ${seconds.toFixed(1)} s`);
      } finally {
        await stopAll(workers);
      }
    }
  } finally {
    await pg.stop();
  }
  return [
    summarize({
      id: 'fleet',
      title: `Fleet download: ${accounts} IMAP accounts of ${per} messages`,
      setup:
        `${accounts} IMAP accounts (a folder each of one Dovecot user, plain IMAP on loopback) of ${per} messages of about 4 KB. The local store: one \`mailbox run --once\`. ` +
        'The database store (the test harness PostgreSQL, fsync off): 1, 2 or 3 `mailbox run` workers already running on a fresh database when the accounts are applied; ' +
        'timed from the apply until every message is in the database (workers start a cycle every second). One run each.',
      metric: { name: 'wall time', unit: 's' },
      perMessage: true,
      ratio: { base: LOCAL, meaning: "the local runner's rate divided by this row's (below 1: faster than one local runner)" },
      rows: download,
      targets: [],
      notes: ['Every worker reads at most worker_concurrency (16) accounts at once; the local runner reads all of them at once.'],
    }),
    summarize({
      id: 'fleet',
      title: `Fleet sending (${queued} queued messages) and takeover`,
      setup: `${queued} messages queued in the database for the one SMTP account (the harness SMTP server, SMTPS), sent by 1 or 3 workers started at the clock's start (their start and first send cycle included; claim_batch 64), timed until the database has none left to send. Takeover: 3 workers, ${LEASE_S} s leases; one SIGKILLed, timed until the others hold all of its accounts.`,
      metric: { name: 'wall time', unit: 's' },
      perMessage: true,
      rows: other,
      targets: [],
      notes: ['Sending is at least once: SMTP deliveries above the queued count are messages a worker sent while another also held them (none without failures).'],
    }),
  ];
}
