// Issue 9 item 10: Ctrl-C during a large download, on a real terminal (a pseudo-terminal through
// script(1)): the stop message starts on a cleared line instead of running into the progress line,
// and the progress counts what is stored, never more than the cycle reports and the folder holds.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDovecot, type Dovecot } from '../harness/index.js';
import { BIN, baseEnv, tmpHome } from '../helpers/cli.js';
import { bulkDeliver, numbered } from '../integration/run-fixtures.js';

let dovecot: Dovecot;
let home: string;
let cleanup: () => void;

beforeAll(async () => {
  dovecot = await startDovecot();
  ({ home, cleanup } = tmpHome('mbx-interrupt-'));
  await bulkDeliver(dovecot, 'alice', numbered(4000, 3000));
  const account = { name: 'work-imap', type: 'imap', host: dovecot.host, port: dovecot.imapsPort, security: 'tls', user: 'alice', secret: { kind: 'env', name: 'MBX_PW' }, tls: { ca: dovecot.caFile } };
  fs.writeFileSync(path.join(home, 'config.json'), JSON.stringify({ version: 1, accounts: [account], filters: [] }));
});
afterAll(async () => {
  await dovecot?.stop();
  cleanup?.();
});

it('Ctrl-C mid-download: the line is cleared before the stop message; the counter never runs ahead of what is stored', async () => {
  // `exec`: the runner itself is the terminal's foreground process, and script(1) exits with its code.
  const command = `exec ${process.execPath} ${BIN} run --once`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: baseEnv({ MAILBOX_HOME: home, MBX_PW: 'alice-secret', TERM: 'xterm' }), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const deadline = Date.now() + 30_000;
  while (!/ stored \(\d+ fetched\)/.test(out.split('read work-imap: ').slice(3).join(''))) {
    if (Date.now() > deadline) throw new Error(`no progress: ${JSON.stringify(out)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.stdin.write('\x03'); // Ctrl-C, as typed: the terminal sends SIGINT
  expect(await exited).toBe(0);

  // The stop message starts on a line of its own: the progress line is wiped first.
  const beforeStop = out.slice(0, out.indexOf('SIGINT: stopping'));
  expect(beforeStop).toMatch(/\r\x1b\[K(\^C)?$/);
  const progress = [...out.matchAll(/read work-imap: (\d+)\/4000 stored \((\d+) fetched\)/g)].map((m) => ({ stored: Number(m[1]), fetched: Number(m[2]) }));
  expect(progress.length).toBeGreaterThan(2);
  const reported = Number(/read work-imap: (\d+) new/.exec(out)?.[1]);
  const files = fs.readdirSync(path.join(home, 'mail', 'inbox', 'new')).length;
  expect(reported).toBe(files);
  expect(files).toBeLessThan(4000); // it really was interrupted
  for (const p of progress) {
    expect(p.stored).toBeLessThanOrEqual(p.fetched);
    expect(p.stored).toBeLessThanOrEqual(files);
  }
}, 60_000);
