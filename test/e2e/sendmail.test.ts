// `mailbox sendmail` (issue 13) end to end against the harness SMTP server: a message on standard
// input queued (-t: recipients from the headers, Bcc removed), a missing From/Date/Message-ID added,
// --now sending at once with the exit code of the result, a `sendmail` symlink behaving the same,
// and git send-email --sendmail-cmd through to the server.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSmtp, type SmtpServer } from '../harness/index.js';
import { baseEnv, BIN, runMailbox, tmpHome } from '../helpers/cli.js';
import { messageBytes, onLocalStore, writeConfig } from '../helpers/store.js';

const exec = promisify(execFile);
let smtp: SmtpServer;
const cleanups: Array<() => unknown> = [];
const env = { MBX_PW: 'alice-secret' };

beforeAll(async () => {
  smtp = await startSmtp();
});
afterAll(async () => {
  await smtp?.stop();
});
// Last in, first out: a runner is gone before its home is removed (it may still be writing there).
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function home(over: Record<string, unknown> = {}): string {
  const { home: dir, cleanup } = tmpHome('mbx-sendmail-');
  cleanups.push(cleanup);
  const account = { name: 'out', type: 'smtp', host: smtp.host, port: smtp.smtpsPort, security: 'tls', tls: { ca: smtp.caFile }, from: 'Ops <alice@example.test>', user: 'alice', secret: { kind: 'env', name: 'MBX_PW' }, ...over };
  writeConfig(dir, { version: 1, accounts: [account], filters: [] });
  return dir;
}

const cronMail = 'To: ops@example.test\nBcc: hidden@example.test\nSubject: Cron <root@db1> backup\n\nbackup done\n.\nlast line\n';

describe('mailbox sendmail', () => {
  it('-t queues the message with the header recipients, Bcc removed from it, From/Date/Message-ID added; run sends it', async () => {
    const dir = home();
    const queued = await runMailbox(['sendmail', '-t', '-i', '-FCronDaemon', '-f', 'cron@example.test', '-oem', '-B8BITMIME'], { home: dir, env, input: cronMail });
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stderr).toContain('queued');
    const before = smtp.messages().length;
    expect((await runMailbox(['run', '--once'], { home: dir, env })).code).toBe(0);
    const [sent] = smtp.messages().slice(before);
    expect(sent!.to).toEqual(['ops@example.test', 'hidden@example.test']);
    const text = sent!.raw.toString('utf8');
    expect(text).not.toMatch(/^Bcc:/im);
    expect(text).toMatch(/^From: CronDaemon <cron@example\.test>\r?$/m);
    expect(text).toMatch(/^Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000\r?$/m);
    expect(text).toMatch(/^Message-ID: <[0-9a-f-]+@example\.test>\r?$/m);
    expect(text).toMatch(/backup done\r?\n\.\r?\nlast line/);
  });

  it('recipients as arguments; none at all is a usage error (64); -bs is refused', async () => {
    const dir = home();
    expect((await runMailbox(['sendmail'], { home: dir, input: cronMail })).code).toBe(64);
    const bs = await runMailbox(['sendmail', '-bs', 'a@example.test'], { home: dir, input: cronMail });
    expect(bs.code).toBe(65);
    expect(bs.stderr).toContain('-bm');
    const json = await runMailbox(['sendmail', '--json', 'a@example.test,b@example.test'], { home: dir, input: 'Subject: x\n\ny\n' });
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ state: 'send-ready', account: 'out' });
    // -f with a local name (as some cron and mail(1) setups pass): said and passed over; -F names the account's From.
    const local = await runMailbox(['sendmail', '-f', 'root', '-FCronDaemon', '--json', 'a@example.test'], { home: dir, input: 'Subject: x\n\ny\n' });
    expect(local.code, local.stderr).toBe(0);
    expect(local.stderr).toContain('-f root is not an email address: it is not used');
    const stored = JSON.parse((await runMailbox(['emails', 'show', JSON.parse(local.stdout).id, '--json'], { home: dir })).stdout);
    expect(messageBytes(dir, stored).toString('utf8')).toMatch(/^From: CronDaemon <alice@example\.test>$/m);
  });

  it('--now sends at once through the active SMTP account: 0 when sent, 77 on a refused login (left queued)', async () => {
    const dir = home();
    const before = smtp.messages().length;
    const now = await runMailbox(['sendmail', '--now', 'bob@example.test'], { home: dir, env, input: 'Subject: now\n\nat once\n' });
    expect(now.code, now.stderr + now.stdout).toBe(0);
    expect(now.stdout).toMatch(/ sent: /);
    expect(smtp.messages().slice(before).map((m) => m.to)).toEqual([['bob@example.test']]);

    const viaEnv = await runMailbox(['sendmail', 'bob@example.test', '--json'], { home: dir, env: { MBX_PW: 'wrong', MAILBOX_SEND_NOW: '1' }, input: 'Subject: now\n\nat once\n' });
    expect(viaEnv.code).toBe(77);
    expect(JSON.parse(viaEnv.stdout)).toMatchObject({ state: 'send-ready', exit: 77 });
  });

  it('--now obeys the operating settings as the runner does: paused sending sends nothing (75, left queued), the test redirect redirects', async () => {
    const dir = home();
    const before = smtp.messages().length;
    expect((await runMailbox(['pause', 'sending'], { home: dir })).code).toBe(0);
    const paused = await runMailbox(['sendmail', '--now', 'bob@example.test'], { home: dir, env, input: 'Subject: paused\n\nx\n' });
    expect(paused.code).toBe(75);
    expect(paused.stdout).toContain('sending is paused');
    expect(smtp.messages().length).toBe(before);

    expect((await runMailbox(['resume', 'sending'], { home: dir })).code).toBe(0);
    expect((await runMailbox(['settings', 'set', 'redirect-to', 'test@example.test'], { home: dir })).code).toBe(0);
    const redirected = await runMailbox(['sendmail', '--now', 'carol@example.test'], { home: dir, env, input: 'Subject: redirected\n\nx\n' });
    expect(redirected.code, redirected.stderr + redirected.stdout).toBe(0);
    // The paused one went out in the same send cycle: both to the redirect address only.
    expect(smtp.messages().slice(before).map((m) => m.to)).toEqual([['test@example.test'], ['test@example.test']]);
  });

  it('--now while a runner holds the store: 75, left queued for that runner, which sends it (a database: sent at once beside the workers)', async () => {
    const dir = home();
    const runner = spawn(process.execPath, [BIN, 'run', '--read-interval', '1h', '--send-interval', '2s'], { env: baseEnv({ MAILBOX_HOME: dir, ...env }), stdio: 'ignore' });
    const exited = new Promise((resolve) => runner.once('exit', resolve));
    cleanups.push(() => (runner.kill('SIGKILL'), exited));
    for (let i = 0; i < 100 && !JSON.parse((await runMailbox(['status', '--json'], { home: dir })).stdout).runner.running; i++) await new Promise((r) => setTimeout(r, 100));
    const before = smtp.messages().length;
    const now = await runMailbox(['sendmail', '--now', 'carol@example.test'], { home: dir, env, input: 'Subject: busy\n\nx\n' });
    if (onLocalStore()) {
      expect(now.code).toBe(75);
      expect(now.stdout).toContain('queued; the runner that holds the store');
    } else {
      // Workers share the queue (claims FOR UPDATE SKIP LOCKED): this command is one more for a moment.
      expect(now.code, now.stderr).toBe(0);
    }
    await smtp.waitForMessages(before + 1, 15_000);
    expect(smtp.messages().at(-1)!.to).toEqual(['carol@example.test']);
  });

  it('a symlink named sendmail runs it (argv[0]): a patch piped in as git send-email --sendmail-cmd does, through to the server', async () => {
    const dir = home();
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(BIN, path.join(bin, 'sendmail'));
    const repo = path.join(dir, 'repo');
    fs.mkdirSync(repo);
    const shellEnv = { ...baseEnv({ MAILBOX_HOME: dir, ...env, MAILBOX_SEND_NOW: '1' }), PATH: `${bin}:${process.env.PATH}`, GIT_AUTHOR_NAME: 'Dev', GIT_AUTHOR_EMAIL: 'dev@example.test', GIT_COMMITTER_NAME: 'Dev', GIT_COMMITTER_EMAIL: 'dev@example.test' };
    const before = smtp.messages().length;
    // What git send-email --sendmail-cmd=sendmail runs: "sendmail -i RECIPIENT..." with the patch on stdin.
    const script = `git init -q && printf 'line\\n.\\n' > a.txt && git add a.txt && git commit -qm 'add a.txt' && git format-patch -1 --stdout | sendmail -i -f dev@example.test list@example.test`;
    const { stdout } = await exec('/bin/sh', ['-c', script], { cwd: repo, env: shellEnv });
    expect(stdout).toMatch(/ sent: /);
    const sent = smtp.messages().slice(before);
    expect(sent.map((m) => m.to)).toEqual([['list@example.test']]);
    expect(sent[0]!.raw.toString('utf8')).toMatch(/^Subject: \[PATCH\] add a\.txt\r?$/m);
    expect(sent[0]!.raw.toString('utf8')).toMatch(/^From: Dev <dev@example\.test>\r?$/m);
  });
});
