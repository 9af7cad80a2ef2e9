// A runner left running (issue 9 friction): a cycle that did nothing is printed once, not every
// interval (text and JSON lines alike); and with --account leaving the active SMTP account out, the
// waiting queue is explained truthfully (issue 9 item 4).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BIN, baseEnv, runMailbox, tmpHome } from '../helpers/cli.js';

let home: string;
let cleanup: () => void;

beforeAll(async () => {
  ({ home, cleanup } = tmpHome('mbx-quiet-'));
  const common = { host: '127.0.0.1', security: 'tls', user: 'bob', secret: { kind: 'env', name: 'PW' } };
  const accounts = [
    { ...common, name: 'pop-bob', type: 'pop3', port: 995, active: false },
    { ...common, name: 'work-smtp', type: 'smtp', port: 465, from: 'bob@example.test' },
  ];
  fs.writeFileSync(path.join(home, 'config.json'), JSON.stringify({ version: 1, accounts, filters: [] }));
  expect((await runMailbox(['send', '--to', 'carol@example.test', '--text', 'x'], { home })).code).toBe(0);
});
afterAll(() => cleanup?.());

/** Runs the runner for `ms` with 1 s intervals, stops it with SIGTERM, and returns what it printed. */
async function runFor(ms: number, extra: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'run', '--read-interval', '1s', '--send-interval', '1s', '--account', 'pop-bob', ...extra], { env: baseEnv({ MAILBOX_HOME: home }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise((r) => setTimeout(r, ms));
  child.kill('SIGTERM');
  return { code: await exited, stdout, stderr };
}

it('four idle send cycles print one line, which says the active SMTP account is left out by --account', async () => {
  const text = await runFor(4200, []);
  expect(text.code).toBe(0);
  const lines = text.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/ send -: 1 message waiting in the outbox: this run leaves out the active SMTP account work-smtp \(/);
  expect(text.stdout).not.toContain('no SMTP account is active');

  const json = await runFor(3200, ['--log-format', 'json']);
  const objects = json.stdout.trim().split('\n').map((l) => JSON.parse(l));
  expect(objects).toHaveLength(1);
  expect(objects[0]).toMatchObject({ job: 'send', account: '-', waiting: 1, repeats: 0 });
}, 30_000);
