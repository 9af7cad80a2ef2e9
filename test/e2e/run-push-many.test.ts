// 200 IMAP accounts watched by one runner (issue 15): 200 connections held open, no more, and the
// runner near idle on CPU while nothing happens; push still reaches every account.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDovecot, type Dovecot } from '../harness/index.js';
import { tmpHome } from '../helpers/cli.js';
import { background, stored, until } from '../helpers/push-run.js';

const N = 200;
let dovecot: Dovecot;

beforeAll(async () => {
  dovecot = await startDovecot({ maxConnections: 2 * N + 50 });
});
afterAll(async () => {
  await dovecot?.stop();
});

/** Established client connections to this port (the runner's: nothing else connects to this Dovecot). */
function connections(port: number): number {
  const out = execFileSync('ss', ['-Htn', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim()).length;
}

/** CPU seconds (user + system) of a process so far. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

it(`${N} accounts: ${N} watching connections, near idle CPU, and push reaches the last account`, async () => {
  const { home, cleanup } = tmpHome('mbx-push200-');
  try {
    // 200 logins of one user, each account watching a folder of its own.
    const folders = Array.from({ length: N }, (_, i) => `P${i}`);
    await dovecot.doveadm(['mailbox', 'create', '-u', 'bob', ...folders]);
    const accounts = folders.map((folder, i) => ({ name: `acct-${i}`, type: 'imap', host: dovecot.host, port: dovecot.imapsPort, security: 'tls', user: 'bob', secret: { kind: 'env', name: 'MBX_PW' }, tls: { ca: dovecot.caFile }, folder }));
    fs.writeFileSync(path.join(home, 'config.json'), JSON.stringify({ version: 1, accounts, filters: [] }));
    const runner = background(['run', '--read-interval', '10m', '--send-interval', '10m', '--log-format', 'json'], home, { MBX_PW: 'bob-secret' });
    try {
      const statusFile = path.join(home, 'state', 'status.json');
      const watchingCount = () => {
        try {
          const push = (JSON.parse(fs.readFileSync(statusFile, 'utf8')) as { push?: Record<string, { state: string }> }).push ?? {};
          return Object.values(push).filter((p) => p.state === 'watching').length;
        } catch {
          return 0;
        }
      };
      await until(`${N} watching`, () => watchingCount() === N && runner.lines().length >= N, 90_000, 200);
      await until('the first reads closed', () => connections(dovecot.imapsPort) === N, 20_000, 200);
      const cpu0 = cpuSeconds(runner.child.pid!);
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, 5000));
      const share = (cpuSeconds(runner.child.pid!) - cpu0) / ((Date.now() - t0) / 1000);
      expect(share).toBeLessThan(0.05);
      expect(connections(dovecot.imapsPort)).toBe(N);
      // New mail for the last account watched: pushed to it, and to no other.
      const body = Buffer.from('Message-ID: <many@push.test>\r\nFrom: x@example.test\r\nSubject: to the last\r\n\r\nhello\r\n');
      const t1 = Date.now();
      await dovecot.deliver('bob', body, `P${N - 1}`);
      await until('stored for the last account', () => stored(home, `acct-${N - 1}`).length === 1, 20_000, 20);
      const delay = Date.now() - t1;
      console.log(`${N} accounts watched: runner CPU ${(share * 100).toFixed(1)}% of a core while idle; new mail of the last one stored ${delay} ms after delivery`);
      expect(fs.readFileSync(stored(home, `acct-${N - 1}`)[0]!)).toEqual(body);
      expect(accounts.filter((a) => stored(home, a.name).length > 0)).toHaveLength(1);
      expect(runner.child.exitCode).toBeNull();
    } finally {
      await runner.stop();
    }
  } finally {
    cleanup();
  }
}, 180_000);
