// Push (issue 15): `mailbox run` watches an IMAP account over IDLE and stores new mail within two
// seconds of its arrival, byte for byte, exactly once, through the normal read cycle; the read
// interval here is ten minutes, so only push can be that fast.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMailbox } from '../helpers/cli.js';
import { lastCycleAt, pushState, pushWorld, stored, until } from '../helpers/push-run.js';

const world = pushWorld('bob');
const { env, left } = world;
const { home, start } = world;

function message(tag: string, i: number): Buffer {
  // 8-bit body, a line starting with a dot, CRLF: what must come back byte for byte.
  return Buffer.from(`Message-ID: <${tag}.${i}@push.test>\r\nFrom: x@example.test\r\nSubject: ${tag} ${i}\r\n\r\nbody ${i} \u00e9t\u00e9\r\n.dot line\r\n`, 'utf8');
}

async function empty(user: string, folder = 'INBOX'): Promise<void> {
  await world.dovecot.doveadm(['expunge', '-u', user, 'mailbox', folder, 'all']).catch(() => undefined);
}

/**
 * Appends a message over IMAP from a connection of its own (a mail client filing one); resolves, with
 * the time the APPEND was sent (after the connection's own login), once the server took it.
 */
async function append(folder: string, body: Buffer): Promise<number> {
  const { ImapFlow } = await import('imapflow');
  const d = world.dovecot;
  const client = new ImapFlow({ host: d.host, port: d.imapsPort, secure: true, tls: { ca: [fs.readFileSync(d.caFile, 'utf8')] }, auth: { user: 'bob', pass: 'bob-secret' }, logger: false });
  await client.connect();
  try {
    const sent = Date.now();
    await client.append(folder, body);
    return sent;
  } finally {
    await client.logout();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Appends `body` to `folder` and expects it in new/ within 2 s of the append, byte for byte, the only message there. */
async function appendedAndStored(dir: string, folder: string, body: Buffer): Promise<void> {
  const appended = await append(folder, body);
  await until(`the message filed in ${folder} in new/`, () => stored(dir, 'work-imap').length === 1, 5000, 10);
  expect(Date.now() - appended).toBeLessThan(2000);
  expect(fs.readFileSync(stored(dir, 'work-imap')[0]!)).toEqual(body);
}

describe('mailbox run with push', () => {
  it('stores a message delivered while it watches within 2 s, byte for byte, exactly once; status says push', async () => {
    await empty('bob');
    const dir = home();
    const runner = start(dir);
    await until('watching', () => pushState(dir, 'work-imap')?.state === 'watching');
    const status = JSON.parse((await runMailbox(['status', '--json'], { home: dir, env })).stdout);
    expect(status.accounts[0].push).toMatchObject({ mode: 'push', state: 'watching', since: expect.any(String), reconnects: 0 });
    const body = message('one', 1);
    const delivered = Date.now();
    await world.dovecot.deliver('bob', body);
    await until('the message in new/', () => stored(dir, 'work-imap').length === 1, 5000, 10);
    const delay = Date.now() - delivered;
    expect(delay).toBeLessThan(2000);
    expect(fs.readFileSync(stored(dir, 'work-imap')[0]!)).toEqual(body);
    await sleep(1500);
    expect(stored(dir, 'work-imap')).toHaveLength(1);
    const pushed = runner.lines().filter((l) => l.trigger === 'push');
    expect(pushed[0]).toMatchObject({ job: 'read', account: 'work-imap', received: 1, ok: true });
    const text = (await runMailbox(['status'], { home: dir, env })).stdout;
    expect(text).toMatch(/watching since .*last mail/);
  }, 30_000);

  it('a message appended over IMAP from another connection (a mail client filing one) is stored within 2 s, byte for byte', async () => {
    await empty('bob');
    const dir = home();
    start(dir);
    await until('watching', () => pushState(dir, 'work-imap')?.state === 'watching');
    await appendedAndStored(dir, 'INBOX', message('appended', 1));
  }, 30_000);

  it('a burst of 20 messages: every one stored once, in few cycles', async () => {
    await empty('bob');
    const dir = home();
    const runner = start(dir);
    await until('watching', () => pushState(dir, 'work-imap')?.state === 'watching');
    const bodies = Array.from({ length: 20 }, (_, i) => message('burst', i));
    await Promise.all(bodies.map((b) => world.dovecot.deliver('bob', b)));
    await until('20 messages', () => stored(dir, 'work-imap').length === 20, 10_000);
    await sleep(1500);
    const files = stored(dir, 'work-imap');
    expect(files).toHaveLength(20);
    const contents = new Set(files.map((f) => fs.readFileSync(f).toString('latin1')));
    for (const b of bodies) expect(contents.has(b.toString('latin1'))).toBe(true);
    const reads = runner.lines().filter((l) => l.trigger === 'push');
    expect(reads.length).toBeLessThan(10);
  }, 30_000);

  it('the account\'s folder changed while watching: the new folder is watched', async () => {
    await world.dovecot.doveadm(['mailbox', 'create', '-u', 'bob', 'Tickets']).catch(() => undefined);
    await empty('bob', 'Tickets');
    const dir = home();
    start(dir, ['--read-interval', '2s']);
    await until('watching', () => pushState(dir, 'work-imap')?.state === 'watching');
    const since = pushState(dir, 'work-imap')?.since;
    expect((await runMailbox(['edit', 'work-imap', '--folder', 'Tickets', '--no-test'], { home: dir, env })).code).toBe(0);
    // The next read cycle (2 s) sees the edit and watches the new folder afresh.
    await until('watching Tickets', () => pushState(dir, 'work-imap')?.state === 'watching' && pushState(dir, 'work-imap')?.since !== since, 10_000);
    const body = message('ticket', 1);
    await world.dovecot.deliver('bob', body, 'Tickets');
    await until('the ticket stored', () => stored(dir, 'work-imap').some((f) => fs.readFileSync(f).equals(body)), 5000);
  }, 30_000);

  it("an account that reads several folders (--folders 'Support/*') watches the first one it reads: mail filed there is stored within 2 s; mail delivered to INBOX asks for no read", async () => {
    await world.dovecot.doveadm(['mailbox', 'create', '-u', 'bob', 'Support/A']).catch(() => undefined);
    await empty('bob', 'Support/A');
    await empty('bob');
    const dir = home({ folders: ['Support/*'] });
    const runner = start(dir);
    await until('watching', () => pushState(dir, 'work-imap')?.state === 'watching');
    expect(pushState(dir, 'work-imap')).toMatchObject({ mode: 'push', folder: 'Support/A' });
    const status = JSON.parse((await runMailbox(['status', '--json'], { home: dir, env })).stdout);
    expect(status.accounts[0].push).toMatchObject({ mode: 'push', state: 'watching', folder: 'Support/A' });
    expect((await runMailbox(['status'], { home: dir, env })).stdout).toMatch(/watching since .* \(Support\/A\)/);
    // INBOX is not read by this account: a message there asks for no read (the next poll is 10 min
    // away; a read that finds nothing new prints no line, but is recorded).
    await until('the first read', () => lastCycleAt(dir, 'work-imap') !== undefined);
    const firstRead = lastCycleAt(dir, 'work-imap');
    await world.dovecot.deliver('bob', message('not-read', 1));
    await sleep(2000);
    expect(lastCycleAt(dir, 'work-imap')).toBe(firstRead);
    await appendedAndStored(dir, 'Support/A', message('support', 1));
    await sleep(1500);
    expect(stored(dir, 'work-imap')).toHaveLength(1);
    expect(runner.lines().filter((l) => l.trigger === 'push')).toMatchObject([{ job: 'read', account: 'work-imap', received: 1, ok: true }]);
  }, 30_000);

  it('none of the folders it reads there yet: polled, status says why; once one is created it is watched', async () => {
    await world.dovecot.doveadm(['mailbox', 'delete', '-u', 'bob', '-s', 'Later/A']).catch(() => undefined);
    const dir = home({ folders: ['Later/*'] });
    start(dir);
    await until('polled', () => pushState(dir, 'work-imap')?.mode === 'poll');
    expect(pushState(dir, 'work-imap')).toMatchObject({ mode: 'poll', state: null, folder: null, reason: "no folder to watch yet: none matches the account's folders" });
    expect((await runMailbox(['status'], { home: dir, env })).stdout).toContain("poll: no folder to watch yet: none matches the account's folders");
    await world.dovecot.doveadm(['mailbox', 'create', '-u', 'bob', 'Later/A']);
    // Looked for again at every back-off step (1, 2, 4 ... s).
    await until('watching Later/A', () => pushState(dir, 'work-imap')?.state === 'watching', 15_000);
    expect(pushState(dir, 'work-imap')).toMatchObject({ mode: 'push', folder: 'Later/A' });
    const body = message('later', 1);
    await append('Later/A', body);
    await until('the message filed in Later/A in new/', () => stored(dir, 'work-imap').some((f) => fs.readFileSync(f).equals(body)), 5000);
  }, 40_000);

  it('--no-push and an account with push off are polled, and status says why', async () => {
    const dir = home({}, [{ name: 'quiet-imap', type: 'imap', host: world.dovecot.host, port: world.dovecot.imapsPort, security: 'tls', user: 'bob', secret: { kind: 'env', name: 'MBX_PW' }, tls: { ca: world.dovecot.caFile }, push: false }]);
    start(dir);
    await until('status', () => pushState(dir, 'quiet-imap') !== undefined && pushState(dir, 'work-imap')?.state === 'watching');
    expect(pushState(dir, 'quiet-imap')).toMatchObject({ mode: 'poll', reason: 'turned off for this account' });
    await left.runners.pop()!.stop();
    const off = start(dir, ['--no-push']);
    await until('status', () => pushState(dir, 'work-imap')?.mode === 'poll');
    expect(pushState(dir, 'work-imap')).toMatchObject({ mode: 'poll', reason: 'turned off for this run' });
    const status = await runMailbox(['status'], { home: dir, env });
    expect(status.stdout).toContain('poll: turned off for this run');
    await off.stop();
    // Stopped: no push state is left behind.
    const after = JSON.parse((await runMailbox(['status', '--json'], { home: dir, env })).stdout);
    expect(after.accounts.map((a: { push: unknown }) => a.push)).toEqual([null, null]);
  }, 30_000);
});
