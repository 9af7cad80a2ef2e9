// Issue 13 end to end, the built executable against Dovecot: an account added with --deliver, run
// --once hands its mail to an MDA command; emails --json and status --json say where each hand-off
// stands; and SIGKILL of the runner between storing and handing off (and during the hand-off) leaves
// every message handed off afterwards: at least once, never zero times, a repeat with the same
// MAILBOX_SOURCE_ID.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDovecot } from '../harness/index.js';
import { afterEachTest, useServer } from '../helpers/file-servers.js';
import { runMailbox, tmpHome } from '../helpers/cli.js';
import { killWhen, throttle } from '../helpers/crash.js';
import { storedCount, writeConfig } from '../helpers/store.js';
import { bulkDeliver, numbered } from '../integration/run-fixtures.js';

const dovecot = useServer(startDovecot);
const cleanups = afterEachTest();

const env = { MBX_PW: 'alice-secret' };

/** An MDA that logs each call's source id (and whether it sees the account's password variable) and keeps nothing else. */
function loggingMda(): { command: string; calls: () => string[]; sawSecret: () => boolean } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mbx-mda-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'mda.sh');
  fs.writeFileSync(file, `#!/bin/sh\ncat > /dev/null\necho "\${MBX_PW-unset}" >> ${dir}/env\necho "$MAILBOX_SOURCE_ID" >> ${dir}/calls\n`, { mode: 0o755 });
  const read = (name: string) => (fs.existsSync(path.join(dir, name)) ? fs.readFileSync(path.join(dir, name), 'utf8').split('\n').filter(Boolean) : []);
  return { command: file, calls: () => read('calls'), sawSecret: () => read('env').some((line) => line !== 'unset') };
}

function home(): string {
  const { home: dir, cleanup } = tmpHome();
  cleanups.push(cleanup);
  return dir;
}

describe('mailbox add --deliver, run, emails, status', () => {
  it('the account keeps its destination; run --once hands its mail off; emails --json and status --json show it', async () => {
    await bulkDeliver(dovecot(), 'alice', numbered(3));
    const mda = loggingMda();
    const dir = home();
    const add = await runMailbox(
      ['add', '--type', 'imap', '--name', 'work', '--host', '127.0.0.1', '--port', String(dovecot().imapPort), '--security', 'none', '--user', 'alice', '--password-env', 'MBX_PW', '--no-test', '--deliver', `mda:${mda.command}`, '--deliver-to', 'ops@example.test', '--json'],
      { home: dir, env },
    );
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout).account).toMatchObject({ deliver: `mda:${mda.command}`, deliverTo: 'ops@example.test' });
    const bad = await runMailbox(['edit', 'work', '--deliver', 'smtp:x', '--no-test'], { home: dir });
    expect(bad.code).toBe(65);
    expect(bad.stderr).toContain('invalid deliver "smtp:x": expected maildir:/PATH, mda:COMMAND, lmtp:HOST:PORT or lmtp:unix:/PATH');

    const run = await runMailbox(['run', '--once'], { home: dir, env });
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain(`3 new, 3 handed off to mda:${mda.command}`);
    expect(mda.calls()).toHaveLength(3);
    expect(mda.sawSecret()).toBe(false); // the variable the account's password comes from is not passed on
    const emails = JSON.parse((await runMailbox(['emails', '--json'], { home: dir })).stdout) as Array<{ id: string; delivery: unknown }>;
    expect(emails.map((e) => e.delivery)).toEqual(Array(3).fill({ dest: `mda:${mda.command}`, state: 'delivered', attempts: 1, error: null, nextAttempt: null }));
    const status = JSON.parse((await runMailbox(['status', '--json'], { home: dir })).stdout);
    expect(status.accounts[0].handOff).toEqual({ dest: `mda:${mda.command}`, pending: 0, failed: 0 });

    const shown = (await runMailbox(['emails', 'show', emails[0]!.id], { home: dir })).stdout;
    expect(shown).toMatch(/^folder +INBOX$/m);
    expect(shown).toMatch(new RegExp(`^hand-off +delivered to mda:${mda.command} \\(1 attempt\\)$`, 'm'));

    // export and apply carry the destination.
    const doc = JSON.parse((await runMailbox(['export'], { home: dir })).stdout);
    expect(doc.accounts[0]).toMatchObject({ deliver: `mda:${mda.command}`, deliverTo: 'ops@example.test' });
    const copy = home();
    fs.writeFileSync(path.join(copy, 'doc.json'), JSON.stringify(doc));
    expect((await runMailbox(['apply', '--file', path.join(copy, 'doc.json')], { home: copy })).code).toBe(0);
    expect(JSON.parse((await runMailbox(['show', 'work', '--json'], { home: copy })).stdout)).toMatchObject({ deliver: `mda:${mda.command}`, deliverTo: 'ops@example.test' });

    // mailbox test checks the destination after the login, changing nothing.
    const ok = await runMailbox(['test', 'work'], { home: dir, env });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`✓ destination .* ${mda.command} is executable`));
    await runMailbox(['edit', 'work', '--deliver', 'mda:/nonexistent/procmail -d x', '--no-test'], { home: dir });
    const broken = await runMailbox(['test', 'work'], { home: dir, env });
    expect(broken.code).toBe(78);
    expect(broken.stdout).toContain('✗ destination');
    expect(broken.stdout).toContain('/nonexistent/procmail is not an executable file');
    expect(broken.stdout + broken.stderr).toContain('mailbox edit work --deliver DEST');
    expect(mda.calls()).toHaveLength(3); // the test handed nothing off
  });
});

describe('several folders from the command line', () => {
  it('--folder twice, --folders PATTERN, --exclude-folder; run reads them; emails --json names the folder', async () => {
    const dir = home();
    const base = ['--type', 'imap', '--host', '127.0.0.1', '--port', String(dovecot().imapPort), '--security', 'none', '--user', 'alice', '--password-env', 'MBX_PW', '--no-test', '--json'];
    const lone = await runMailbox(['add', '--name', 'lone', ...base, '--exclude-folder', 'Trash'], { home: dir, env });
    expect(lone.code).toBe(65);
    expect(lone.stderr).toContain('invalid exclude-folder');
    const two = await runMailbox(['add', '--name', 'two', ...base, '--folder', 'INBOX', '--folder', 'Lists/ops'], { home: dir, env });
    expect(two.code, two.stderr).toBe(0);
    expect(JSON.parse(two.stdout).account).toMatchObject({ folder: 'INBOX', folders: ['INBOX', 'Lists/ops'], excludeFolders: null });
    const edited = await runMailbox(['edit', 'two', '--folders', 'Lists/*', '--exclude-folder', 'Lists/old', '--no-test', '--json'], { home: dir, env });
    expect(JSON.parse(edited.stdout).account).toMatchObject({ folder: 'INBOX', folders: ['Lists/*'], excludeFolders: ['Lists/old'] });
    const back = await runMailbox(['edit', 'two', '--no-folders', '--no-test', '--json'], { home: dir, env });
    expect(JSON.parse(back.stdout).account).toMatchObject({ folder: 'INBOX', folders: null, excludeFolders: null });

    for (const f of ['Lists/ops', 'Lists/old']) await dovecot().doveadm(['mailbox', 'create', '-u', 'alice', f]).catch(() => undefined);
    await dovecot().doveadm(['expunge', '-u', 'alice', 'mailbox', 'INBOX', 'all']);
    await dovecot().deliver('alice', 'Subject: ops\r\n\r\nx\r\n', 'Lists/ops');
    await dovecot().deliver('alice', 'Subject: old\r\n\r\nx\r\n', 'Lists/old');
    await runMailbox(['edit', 'two', '--folders', 'Lists/*', '--exclude-folder', 'Lists/old', '--no-test'], { home: dir, env });
    const run = await runMailbox(['run', '--once'], { home: dir, env });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const emails = JSON.parse((await runMailbox(['emails', '--json'], { home: dir })).stdout) as Array<{ folder: string; subject: string }>;
    expect(emails.map((e) => [e.folder, e.subject])).toEqual([['Lists/ops', 'ops']]);
  });
});

describe('SIGKILL between storing and handing off', () => {
  it('killed mid-download (stored, not handed off) and mid-hand-off: afterwards every message is handed off, at least once', async () => {
    const N = 150;
    await bulkDeliver(dovecot(), 'bob', numbered(N, 1500));
    // Slow enough that the download spans several commits (one every 2 s): the kill lands between them.
    const proxy = await throttle(dovecot().imapPort, 40_000);
    cleanups.push(proxy.close);
    const mda = loggingMda();
    const dir = home();
    const accounts = [{ name: 'imap', type: 'imap', host: '127.0.0.1', port: proxy.port, security: 'none', user: 'bob', secret: { kind: 'env', name: 'MBX_PW' }, deliver: `mda:${mda.command}` }];
    writeConfig(dir, { version: 1, accounts, filters: [] });
    const daveEnv = { MBX_PW: 'bob-secret' };

    // Mid-download: messages are stored and recorded as seen, none handed off yet.
    expect(await killWhen(dir, daveEnv, () => storedCount(dir) >= 1)).toBe(true);
    const storedAtKill = storedCount(dir);
    expect(storedAtKill).toBeGreaterThanOrEqual(1);
    expect(storedAtKill).toBeLessThan(N);
    expect(mda.calls()).toEqual([]);

    // Mid-hand-off: the download is done, the MDA has been called for some.
    const killedDuringHandOff = await killWhen(dir, daveEnv, () => mda.calls().length >= 20);
    expect(killedDuringHandOff).toBe(true);

    const last = await runMailbox(['run', '--once'], { home: dir, env: daveEnv, timeoutMs: 60_000 });
    expect(last.code, last.stderr).toBe(0);
    const calls = mda.calls();
    const records = JSON.parse((await runMailbox(['emails', '--json'], { home: dir })).stdout) as Array<{ delivery: { state: string } }>;
    expect(records).toHaveLength(N); // stored once each
    expect(records.every((r) => r.delivery.state === 'delivered')).toBe(true);
    const distinct = new Set(calls);
    expect(distinct.size).toBe(N); // never zero times
    // A repeat only for what was handed off but not yet recorded at the kill (outcomes are recorded 64 at a time).
    expect(calls.length - N).toBeLessThanOrEqual(64);
    for (const id of distinct) expect(id).toMatch(/^imap\/\d+\/\d+$/);
  });
});
