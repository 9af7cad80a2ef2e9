// What a sent message's record shows (issue 9 item 5) and how `mailbox test --send-to` names a refusal
// (issue 9 item 7), through the built executable against the harness's SMTP server.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtp, type SmtpServer } from '../harness/index.js';
import { runMailbox, tmpHome } from '../helpers/cli.js';
import { writeConfig } from '../helpers/store.js';

let smtp: SmtpServer;
const homes: Array<() => void> = [];
const env = { MBX_PW: 'alice-secret' };

beforeAll(async () => {
  smtp = await startSmtp();
});
afterAll(async () => {
  await smtp?.stop();
  for (const cleanup of homes) cleanup();
});

function home(account: Record<string, unknown>, filters: unknown[] = []): string {
  const { home: dir, cleanup } = tmpHome('mbx-envelope-');
  homes.push(cleanup);
  const base = { name: 'out', type: 'smtp', host: smtp.host, port: smtp.smtpsPort, security: 'tls', tls: { ca: smtp.caFile }, from: 'alice@example.test' };
  writeConfig(dir, { version: 1, accounts: [{ ...base, ...account }], filters });
  return dir;
}

const login = { user: 'alice', secret: { kind: 'env', name: 'MBX_PW' } };

describe('the record of a sent message', () => {
  it('emails show and --json keep the envelope sent, the recipients the filter dropped and those the server refused apart', async () => {
    const filter = { name: 'partners', direction: 'outbound', allow: [], deny: ['blocked.org'], default: true };
    const dir = home(login, [filter]);
    const run = (args: string[]) => runMailbox(args, { home: dir, env });
    const queued = await run(['send', '--to', 'bob@example.test', '--to', 'carol@example.test', '--to', 'someone@blocked.org', '--to', 'reject1@example.test', '--subject', 's', '--text', 't']);
    expect(queued.code).toBe(0);
    const id = queued.stdout.trim();
    expect((await run(['run', '--once'])).code).toBe(0);
    expect(smtp.messages().at(-1)!.to).toEqual(['bob@example.test', 'carol@example.test']);

    const text = (await run(['emails', 'show', id])).stdout;
    expect(text).toMatch(/^queued for +bob@example\.test, carol@example\.test, someone@blocked\.org, reject1@example\.test$/m);
    expect(text).toMatch(/^sent to +bob@example\.test, carol@example\.test$/m);
    expect(text).toMatch(/^dropped +someone@blocked\.org \(filter partners, pattern blocked\.org\)$/m);
    expect(text).toMatch(/^refused +reject1@example\.test: 550 5\.1\.1 Recipient rejected \(test\)$/m);
    expect(text).not.toMatch(/^recipients /m);

    const show = JSON.parse((await run(['emails', 'show', id, '--json'])).stdout);
    const listed = JSON.parse((await run(['emails', '--json'])).stdout).find((e: { id: string }) => e.id === id);
    for (const json of [show, listed]) {
      expect(json).toMatchObject({
        state: 'sent',
        sentTo: ['bob@example.test', 'carol@example.test'],
        dropped: [{ address: 'someone@blocked.org', filter: 'partners', pattern: 'blocked.org' }],
        refused: [{ address: 'reject1@example.test', reply: '550 5.1.1 Recipient rejected (test)' }],
      });
    }
    expect(show.recipients).toEqual(['bob@example.test', 'carol@example.test', 'someone@blocked.org', 'reject1@example.test']);
  });

  it('before a try: the recipients as queued, and null for what only a try can say', async () => {
    const dir = home(login);
    const id = (await runMailbox(['send', '--to', 'bob@example.test', '--text', 't'], { home: dir, env })).stdout.trim();
    const json = JSON.parse((await runMailbox(['emails', 'show', id, '--json'], { home: dir, env })).stdout);
    expect(json).toMatchObject({ recipients: ['bob@example.test'], sentTo: null, dropped: null, refused: null });
    expect((await runMailbox(['emails', 'show', id], { home: dir, env })).stdout).toMatch(/^recipients +bob@example\.test$/m);
  });
});

describe('mailbox test --send-to', () => {
  it('a refused recipient is named as such (65); a deferred one is 75', async () => {
    const dir = home(login);
    const refused = await runMailbox(['test', 'out', '--send-to', 'reject@example.test'], { home: dir, env });
    expect(refused.code).toBe(65);
    expect(refused.stdout).toContain('the server refused the recipient reject@example.test: 550 5.1.1');
    const deferred = await runMailbox(['test', 'out', '--send-to', 'defer@example.test', '--json'], { home: dir, env });
    expect(deferred.code).toBe(75);
    expect(JSON.parse(deferred.stdout)[0].error.message).toContain('the server deferred the recipient defer@example.test: 451');
  });

  it("refuses (65) an address the account's outbound filter blocks, naming the filter and the pattern; --ignore-filter sends anyway", async () => {
    const filter = { name: 'partners', direction: 'outbound', allow: ['*.partner.example'], deny: ['*'], default: false };
    const dir = home({ ...login, filter: 'partners' }, [filter]);
    const before = smtp.messages().length;
    const refused = await runMailbox(['test', 'out', '--send-to', 'me@example.test'], { home: dir, env });
    expect(refused.code).toBe(65);
    expect(refused.stderr).toContain('--send-to me@example.test is blocked by the outbound filter partners of account out (deny pattern *)');
    expect(refused.stderr).toMatch(/hint: .*--ignore-filter/);
    expect(refused.stdout).toBe('');
    const json = await runMailbox(['test', 'out', '--send-to', 'me@example.test', '--json'], { home: dir, env });
    expect(JSON.parse(json.stderr).error).toMatchObject({ code: 'EVALUE', exit: 65, field: 'send-to' });
    expect(smtp.messages().length).toBe(before);
    const allowed = await runMailbox(['test', 'out', '--send-to', 'ops@mx.partner.example'], { home: dir, env });
    expect(allowed.code).toBe(0);
    const forced = await runMailbox(['test', 'out', '--send-to', 'me@example.test', '--ignore-filter'], { home: dir, env });
    expect(forced.code).toBe(0);
    expect(smtp.messages().slice(before).map((m) => m.to)).toEqual([['ops@mx.partner.example'], ['me@example.test']]);
    expect((await runMailbox(['test', 'out', '--ignore-filter'], { home: dir, env })).code).toBe(64);
  });

  it('a filter the account names and that does not exist sends nothing (78), never unfiltered', async () => {
    const dir = home({ ...login, filter: 'gone' });
    const before = smtp.messages().length;
    const r = await runMailbox(['test', 'out', '--send-to', 'me@example.test'], { home: dir, env });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('account out names the filter gone, which does not exist: nothing is sent through it');
    expect(r.stderr).toMatch(/hint: .*--ignore-filter/);
    expect(smtp.messages().length).toBe(before);
  });

  it('530 authentication required, for an account that does not log in: 77 and the command that fixes it', async () => {
    const dir = home({ auth: 'none' });
    const r = await runMailbox(['test', 'out', '--send-to', 'bob@example.test'], { home: dir, env });
    expect(r.code).toBe(77);
    expect(r.stdout).toMatch(/FAILED at send: EAUTH \(exit 77\)/);
    expect(r.stdout).toMatch(/hint: .*mailbox edit out --auth password/);
  });
});
