// Issue 10 item 1: a server that quotes back what it was sent must not get the password (or the OAuth
// token) into anything mailbox prints or stores. Every protocol and every login mechanism, against
// servers that quote the credential in their refusal of the login, of a later command, of a message
// or of the session; then `run --once` (text and JSON), `status`, `emails --json`, `emails show`,
// `test` (and `test --send-to`), and every output and every file under MAILBOX_HOME is searched for
// the secret in every form (plain, base64, PLAIN payload, base64 at any alignment, JSON-escaped).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account } from '../../src/core/account.js';
import { imapEcho, pop3Echo, smtpEcho, type EchoAt } from '../harness/echo-servers.js';
import { startScriptedServer, type Script, type ScriptedServer } from '../harness/scripted-server.js';
import { readTree, runMailbox, tmpHome, type RunResult } from '../helpers/cli.js';
import { storeText, writeConfig } from '../helpers/store.js';
import { leaks, scriptedAccount, SECRET } from '../helpers/robustness.js';

const servers: ScriptedServer[] = [];
const homes: Array<() => void> = [];
const env = { PW: SECRET };

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  for (const cleanup of homes) cleanup();
});

async function account(name: string, type: Account['type'], script: Script, over: Partial<Account> = {}): Promise<Account> {
  const srv = await startScriptedServer(script);
  servers.push(srv);
  return scriptedAccount(srv, type, { name, ...(type === 'smtp' ? { from: 'alice@example.test' } : {}), ...over });
}

const oauth: Partial<Account> = { auth: 'oauth2' };

/** Every incoming mechanism, refused with the credential quoted, or quoted after the login. */
async function incomingAccounts(): Promise<Account[]> {
  return Promise.all([
    account('imap-login-cmd', 'imap', imapEcho('IMAP4rev1', 'login')),
    account('imap-plain', 'imap', imapEcho('IMAP4rev1 AUTH=PLAIN', 'login')),
    account('imap-sasl-login', 'imap', imapEcho('IMAP4rev1 AUTH=LOGIN', 'login')),
    account('imap-xoauth2', 'imap', imapEcho('IMAP4rev1 AUTH=XOAUTH2', 'login'), oauth),
    account('imap-oauthbearer', 'imap', imapEcho('IMAP4rev1 AUTH=OAUTHBEARER', 'login'), oauth),
    account('imap-session', 'imap', imapEcho('IMAP4rev1 AUTH=PLAIN', 'session')),
    account('imap-session-login', 'imap', imapEcho('IMAP4rev1', 'session')),
    account('pop-user', 'pop3', pop3Echo([], 'login')),
    account('pop-plain', 'pop3', pop3Echo(['PLAIN'], 'login')),
    account('pop-sasl-login', 'pop3', pop3Echo(['LOGIN'], 'login')),
    account('pop-xoauth2', 'pop3', pop3Echo(['XOAUTH2'], 'login'), oauth),
    account('pop-session', 'pop3', pop3Echo([], 'session')),
  ]);
}

function home(accounts: Account[]): string {
  const { home: dir, cleanup } = tmpHome('mbx-echo-');
  homes.push(cleanup);
  writeConfig(dir, { version: 1, accounts, filters: [] });
  return dir;
}

/** Everything a user would run after such a cycle; returns every output. */
async function exercise(dir: string, smtp: Account | undefined): Promise<RunResult[]> {
  const run = (args: string[]) => runMailbox(args, { home: dir, env, timeoutMs: 60_000 });
  const queue = () => (smtp ? run(['send', '--to', 'bob@example.test', '--to', 'carol@example.test', '--subject', 'echo', '--text', 'hello']) : undefined);
  const outputs: RunResult[] = [];
  const keep = async (result: Promise<RunResult> | undefined) => {
    if (result) outputs.push(await result);
  };
  await keep(queue());
  await keep(run(['run', '--once']));
  await keep(queue());
  await keep(run(['run', '--once', '--log-format', 'json']));
  await keep(run(['status']));
  await keep(run(['status', '--json']));
  const emails = await run(['emails', '--json']);
  outputs.push(emails, await run(['emails']));
  for (const { id } of JSON.parse(emails.stdout) as { id: string }[]) {
    await keep(run(['emails', 'show', id]));
    await keep(run(['emails', 'show', id, '--json']));
  }
  await keep(run(['test', '--all', '--json', '--timeout', '5']));
  await keep(run(['test', '--all', '--timeout', '5']));
  if (smtp) await keep(run(['test', smtp.name, '--send-to', 'bob@example.test', '--timeout', '5']));
  return outputs;
}

function expectNoLeak(dir: string, outputs: RunResult[]): void {
  const everything = outputs.map((o) => `${o.stdout}\n${o.stderr}`).join('\n') + storeText(dir, readTree);
  expect(leaks(everything)).toEqual([]);
  // Nothing crashed on the way.
  for (const o of outputs) expect(o.stderr).not.toMatch(/\n\s+at |internal error/);
}

describe('a server that echoes the credential: nothing reaches the output or the state', () => {
  let incoming: Account[];
  beforeAll(async () => {
    incoming = await incomingAccounts();
  });

  it('every IMAP and POP3 mechanism, and the SMTP login (PLAIN), all at once', async () => {
    const smtp = await account('smtp-plain', 'smtp', smtpEcho(['PLAIN'], 'login'));
    const dir = home([...incoming, smtp]);
    const outputs = await exercise(dir, smtp);
    // The failures really were reported (and redacted, not dropped).
    const json = outputs.find((o) => o.stdout.includes('"job":"read"'))!;
    const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { account: string; ok: boolean; error: { message: string } | null });
    expect(lines.filter((l) => !l.ok).map((l) => l.account).sort()).toEqual([...incoming.map((a) => a.name), 'smtp-plain'].sort());
    for (const line of lines.filter((l) => !l.account.includes('session'))) expect(line.error!.message, line.account).toContain('<redacted>');
    expectNoLeak(dir, outputs);
  }, 120_000);

  const smtpCases: Array<[string, string[], EchoAt, Partial<Account>]> = [
    ['smtp-sasl-login', ['LOGIN'], 'login', {}],
    ['smtp-xoauth2', ['XOAUTH2'], 'login', oauth],
    ['smtp-mail-5xx', ['PLAIN'], 'mail', {}],
    ['smtp-rcpt-4xx', ['LOGIN'], 'rcpt', {}],
    ['smtp-data-5xx', ['PLAIN'], 'data', {}],
    ['smtp-some-rcpt', ['PLAIN'], 'some-rcpt', {}],
    ['smtp-421', ['PLAIN'], 'bye', {}],
  ];
  for (const [name, mechanisms, at, over] of smtpCases) {
    it(`SMTP ${name}: the reply quoting AUTH is redacted in the cycle, the status and the email record`, async () => {
      const smtp = await account(name, 'smtp', smtpEcho(mechanisms, at), over);
      const dir = home([smtp]);
      const outputs = await exercise(dir, smtp);
      // The email records: state/emails.jsonl, or the database's rows.
      const records = storeText(dir, readTree);
      if (at !== 'login') expect(records).toContain('<redacted>');
      expectNoLeak(dir, outputs);
    }, 120_000);
  }
});
