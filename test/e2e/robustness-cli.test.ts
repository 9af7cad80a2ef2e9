// `mailbox test` (the built executable) against hostile scripted servers, all at once: each account
// fails with its own code, the exit code is the first failure's, --json stays valid JSON, nothing
// crashes, nothing hangs past --timeout, and the password is nowhere, not even in the debug log.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startScriptedServer, type ScriptedServer } from '../harness/scripted-server.js';
import { readTree, runMailbox, tmpHome } from '../helpers/cli.js';
import { scriptedAccount, secretForms, SECRET } from '../helpers/robustness.js';

let servers: ScriptedServer[];
let home: string;
let cleanup: () => void;

beforeAll(async () => {
  servers = await Promise.all([
    // IMAP: garbage after the greeting.
    startScriptedServer(async (c) => {
      c.line('* OK [CAPABILITY IMAP4rev1] hi');
      await c.readLine();
      c.line('\x00\x01garbage\xff');
      await c.untilClosed();
    }),
    // SMTP: 421 greeting.
    startScriptedServer(async (c) => {
      c.line('421 4.3.2 busy, try later');
      c.end();
    }),
    // POP3: an endless status line.
    startScriptedServer(async (c) => {
      c.write('+OK ');
      await c.flood('z'.repeat(8192));
    }),
    // POP3: refuses the password, quoting it back.
    startScriptedServer(async (c) => {
      c.line('+OK');
      for (;;) {
        const line = await c.readLine();
        if (line === 'CAPA') c.line('-ERR');
        else if (line.startsWith('USER')) c.line('+OK');
        else if (line.startsWith('PASS')) {
          c.line(`-ERR [AUTH] no such password: ${line.slice(5)}`);
        }
      }
    }),
  ]);
  ({ home, cleanup } = tmpHome());
  const [imap, smtp, endless, echo] = servers;
  const accounts = [
    scriptedAccount(imap!, 'imap', { name: 'a-imap-garbage', debug: true }),
    scriptedAccount(smtp!, 'smtp', { name: 'b-smtp-busy' }),
    scriptedAccount(endless!, 'pop3', { name: 'c-pop-endless' }),
    scriptedAccount(echo!, 'pop3', { name: 'd-pop-echo', debug: true }),
  ];
  fs.writeFileSync(path.join(home, 'config.json'), JSON.stringify({ version: 1, accounts, filters: [], provisionedActive: {} }), { mode: 0o600 });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  cleanup?.();
});

it('every hostile server gets its own clear error; exit code of the first; valid JSON; no password anywhere', async () => {
  const run = await runMailbox(['test', '--json', '--timeout', '5'], { home, env: { PW: SECRET } });
  expect(run.signal).toBeNull();
  const results = JSON.parse(run.stdout) as { account: string; ok: boolean; error: { code: string; message: string } | null }[];
  expect(results.map((r) => [r.account, r.error?.code])).toEqual([
    ['a-imap-garbage', 'EPROTOCOL'],
    ['b-smtp-busy', 'ETEMPFAIL'],
    ['c-pop-endless', 'EPROTOCOL'],
    ['d-pop-echo', 'EAUTH'],
  ]);
  expect(run.code).toBe(76);
  expect(run.stderr).not.toMatch(/\n\s+at |Unhandled|TypeError/);
  const everything = run.stdout + run.stderr + readTree(home);
  for (const form of secretForms()) expect(everything).not.toContain(form);
  expect(results[3]!.error!.message).toContain('<redacted>');
});
