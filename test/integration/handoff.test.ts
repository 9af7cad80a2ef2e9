// Issue 13 against real parts: received mail handed on, after it is stored and recorded as seen, to
// Dovecot's LMTP service (TCP and unix socket), Dovecot's own dovecot-lda as the MDA, MDA scripts that
// answer 75 then 0, hang past the limit or refuse (65), and another Maildir. Delivered messages must
// be in the target mailbox byte for byte (after the trace headers the target adds).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AccountView } from '../../src/core/account.js';
import { checkDestination, destinationOpener } from '../../src/jobs/destinations.js';
import { handOffDue } from '../../src/jobs/handoff.js';
import type { EmailRecord } from '../../src/store/types.js';
import { startDovecot, type Dovecot } from '../harness/index.js';
import { clearMailbox, imapAccount, pop3Account, readOnce, serverCount, storedById, testRunner, type TestRunner } from './run-fixtures.js';

let dovecot: Dovecot;
const cleanups: Array<() => void> = [];
const lmtpInstalled = fs.existsSync('/usr/lib/dovecot/lmtp');

beforeAll(async () => {
  dovecot = await startDovecot({ lmtp: lmtpInstalled });
});
afterAll(async () => {
  await dovecot?.stop();
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await Promise.all(['alice', 'bob'].map((u) => clearMailbox(dovecot, u).catch(() => undefined)));
});

/** A message with what tends to break: 8-bit bytes, a line that is a dot, one starting with a dot, CRLF. */
function tricky(n: number): Buffer {
  return Buffer.concat([
    Buffer.from(`Message-ID: <h${n}@test>\r\nFrom: Sender <sender@example.test>\r\nTo: alice@example.test\r\nSubject: hand-off ${n}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`),
    Buffer.from('Grüße, ça va?\r\n.\r\n..two dots\r\n.one dot\r\nend\r\n', 'utf8'),
  ]);
}

function runnerFor(account: () => AccountView, edge = {}): TestRunner {
  const t = testRunner(() => [account()], [], 'alice-secret', edge);
  cleanups.push(t.cleanup);
  return t;
}

async function records(t: TestRunner): Promise<EmailRecord[]> {
  return [...(await t.stores.log.readAll()).values()];
}

/** Every message file of a user's Maildir INBOX at Dovecot. */
function dovecotFiles(user: string): Buffer[] {
  const dir = path.join(dovecot.dir, 'mail', user, 'Maildir');
  return ['new', 'cur'].flatMap((sub) => {
    const d = path.join(dir, sub);
    return fs.existsSync(d) ? fs.readdirSync(d).map((name) => fs.readFileSync(path.join(d, name))) : [];
  });
}

/** Each stored message is at the end of exactly one file of the target (the target adds trace headers on top). */
function expectDeliveredByteForByte(stored: Buffer[], delivered: Buffer[]): void {
  expect(delivered).toHaveLength(stored.length);
  for (const message of stored) expect(delivered.filter((file) => file.subarray(file.length - message.length).equals(message))).toHaveLength(1);
}

/** Whether a process runs (a zombie nobody reaped, in a container without init, does not). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function script(body: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mbx-mda-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'mda.sh');
  fs.writeFileSync(file, `#!/bin/sh\nDIR=${dir}\n${body}\n`, { mode: 0o755 });
  return file;
}

describe.skipIf(!lmtpInstalled)('LMTP (Dovecot lmtp)', () => {
  it('TCP: every new message handed to the target user byte for byte, after it is stored; the records say delivered', async () => {
    for (const n of [1, 2]) await dovecot.deliver('alice', tricky(n));
    const t = runnerFor(() => imapAccount(dovecot, { deliver: `lmtp:127.0.0.1:${dovecot.lmtpPort}`, deliverTo: 'bob' }));
    const report = await readOnce(t, imapAccount(dovecot, { deliver: `lmtp:127.0.0.1:${dovecot.lmtpPort}`, deliverTo: 'bob' }));
    expect(report.ok, report.summary).toBe(true);
    expect(report.counts).toMatchObject({ received: 2, handedOff: 2, handOffRetrying: 0, handOffFailed: 0 });
    expect(report.summary).toContain(`2 handed off to lmtp:127.0.0.1:${dovecot.lmtpPort}`);
    const stored = [...storedById(t.home).values()].flat();
    expect(stored).toHaveLength(2);
    expectDeliveredByteForByte(stored, dovecotFiles('bob'));
    for (const r of await records(t)) expect(r.handoff).toMatchObject({ state: 'delivered', attempts: 1, error: null });
    // The next cycle hands nothing off again.
    const again = await readOnce(t, imapAccount(dovecot, { deliver: `lmtp:127.0.0.1:${dovecot.lmtpPort}`, deliverTo: 'bob' }));
    expect(again.counts).toMatchObject({ received: 0, handedOff: 0 });
    expect(dovecotFiles('bob')).toHaveLength(2);
  });

  it('unix socket: a recipient refused with 5xx is delivery-failed, in the failed box; retried, it is delivered', async () => {
    await dovecot.deliver('alice', tricky(3));
    let to = 'nobody-here';
    const account = () => imapAccount(dovecot, { deliver: `lmtp:unix:${dovecot.lmtpSocket}`, deliverTo: to });
    const t = runnerFor(account);
    const report = await readOnce(t, account());
    expect(report.counts).toMatchObject({ received: 1, handedOff: 0, handOffFailed: 1 });
    const [failed] = await records(t);
    expect(failed!.state).toBe('delivery-failed');
    expect(failed!.handoff).toMatchObject({ state: 'failed', attempts: 1 });
    expect(failed!.error).toBe(`hand-off to lmtp:unix:${dovecot.lmtpSocket} failed: LMTP ${dovecot.lmtpSocket} refused nobody-here: 550 5.1.1 <nobody-here> User doesn't exist: nobody-here`);
    expect(storedById(t.home, 'failed').size).toBe(1);
    expect(storedById(t.home, 'inbox').size).toBe(0);
    expect(await t.stores.handoffs.counts()).toEqual({ imap: { pending: 0, failed: 1 } });

    to = 'bob';
    const retried = await t.stores.handoffs.retry(failed!.id, new Date());
    expect(retried).toMatchObject({ state: 'received', handoff: { state: 'pending', attempts: 0 } });
    expect(storedById(t.home, 'inbox').size).toBe(1);
    const second = await readOnce(t, account());
    expect(second.counts).toMatchObject({ received: 0, handedOff: 1 });
    expectDeliveredByteForByte([...storedById(t.home).values()].flat(), dovecotFiles('bob'));
    expect(await t.stores.handoffs.counts()).toEqual({});
  });

  it('mailbox test: the destination check connects (LHLO) and sends nothing; a port with nobody behind it fails', async () => {
    const edge = { env: process.env, host: { killGroup: () => undefined } };
    expect(await checkDestination({ deliver: `lmtp:unix:${dovecot.lmtpSocket}` }, edge)).toMatchObject({ ok: true, detail: `LMTP ${dovecot.lmtpSocket} answers LHLO` });
    expect(await checkDestination({ deliver: 'lmtp:127.0.0.1:1' }, edge)).toMatchObject({ ok: false, detail: expect.stringMatching(/^LMTP 127\.0\.0\.1:1 cannot be reached: .*ECONNREFUSED/) });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mbx-check-')), 'a-file');
    fs.writeFileSync(file, '');
    cleanups.push(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
    expect(await checkDestination({ deliver: `maildir:${file}/Maildir` }, edge)).toEqual({ ok: false, ms: expect.any(Number), detail: `${file} is not a folder` });
    expect(await checkDestination({ deliver: `maildir:${path.dirname(file)}/new/Maildir` }, edge)).toMatchObject({ ok: true, detail: `${path.dirname(file)}/new/Maildir will be created (0700) in ${path.dirname(file)}` });
    expect(await checkDestination({}, edge)).toBeNull();
  });

  it('a server out of reach: the hand-off waits (pending, retried later); the message is never fetched again for it', async () => {
    await dovecot.deliver('alice', tricky(4));
    const account = () => imapAccount(dovecot, { deliver: 'lmtp:127.0.0.1:1', deliverTo: 'bob' });
    const t = runnerFor(account);
    const report = await readOnce(t, account());
    expect(report.counts).toMatchObject({ received: 1, handedOff: 0, handOffRetrying: 1 });
    const [r] = await records(t);
    expect(r!.state).toBe('received');
    expect(r!.handoff).toMatchObject({ state: 'pending', attempts: 1 });
    expect(Date.parse(r!.handoff!.nextAttempt!)).toBeGreaterThan(Date.now());
    const again = await readOnce(t, account());
    expect(again.counts).toMatchObject({ received: 0, duplicates: 0, handedOff: 0, handOffRetrying: 0 });
  });
});

describe("Dovecot's dovecot-lda as the MDA", () => {
  it('hands every message to dovecot-lda on its standard input: in the target mailbox byte for byte', async () => {
    for (const n of [5, 6]) await dovecot.deliver('alice', tricky(n));
    const account = () => imapAccount(dovecot, { deliver: `mda:${dovecot.ldaCommand('bob')}` });
    const t = runnerFor(account);
    const report = await readOnce(t, account());
    expect(report.counts, report.summary + report.notes.join('\n')).toMatchObject({ received: 2, handedOff: 2 });
    expectDeliveredByteForByte([...storedById(t.home).values()].flat(), dovecotFiles('bob'));
  });
});

describe('MDA scripts', () => {
  it('75 twice, then 0: retried with back-off, delivered on the third attempt, with the same MAILBOX_SOURCE_ID each time', async () => {
    const mda = script(`n=$(cat "$DIR/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$DIR/count"
echo "$n $MAILBOX_ACCOUNT $MAILBOX_SOURCE_ID $MAILBOX_EMAIL_ID $MAILBOX_FOLDER $MAILBOX_FROM $MAILBOX_RECIPIENT" >> "$DIR/calls"
cat > "$DIR/message.$n"
[ $n -le 2 ] && { echo "try later" >&2; exit 75; }
exit 0`);
    await dovecot.deliver('alice', tricky(7));
    const account = imapAccount(dovecot, { deliver: `mda:${mda}`, deliverTo: 'ops@example.test' });
    const t = runnerFor(() => account);
    const first = await readOnce(t, account);
    expect(first.counts).toMatchObject({ received: 1, handOffRetrying: 1 });
    const [r1] = await records(t);
    expect(r1!.handoff).toMatchObject({ state: 'pending', attempts: 1, error: 'the command exited 75 (temporary failure): try later' });
    // The back-off steps of SMTP: 1 minute, then 5.
    const opened = destinationOpener({ env: process.env, host: { killGroup: (g) => process.kill(-g, 'SIGKILL') } });
    const at = (minutes: number) => () => new Date(Date.now() + minutes * 60_000);
    const deps = (minutes: number) => ({ stores: t.stores, open: opened.open, clock: at(minutes) });
    expect(await handOffDue(account, deps(0.5))).toMatchObject({ delivered: 0, retrying: 0 }); // not due yet
    expect(await handOffDue(account, deps(2))).toMatchObject({ delivered: 0, retrying: 1 });
    expect(await handOffDue(account, deps(4))).toMatchObject({ delivered: 0, retrying: 0 }); // 5 minutes after the second
    expect(await handOffDue(account, deps(8))).toMatchObject({ delivered: 1 });
    const [r] = await records(t);
    expect(r!.handoff).toMatchObject({ state: 'delivered', attempts: 3, error: null });
    const calls = fs.readFileSync(path.join(path.dirname(mda), 'calls'), 'utf8').trim().split('\n');
    expect(calls).toEqual([1, 2, 3].map((n) => `${n} imap imap/${r!.source} ${r!.id} INBOX sender@example.test ops@example.test`));
    const stored = [...storedById(t.home).values()].flat()[0]!;
    for (const n of [1, 2, 3]) expect(fs.readFileSync(path.join(path.dirname(mda), `message.${n}`)).equals(stored)).toBe(true);
  });

  it('a command that hangs past the limit: its whole process group is killed, and the hand-off is retried later', async () => {
    const mda = script('sleep 60 &\necho $! > "$DIR/child"\nsleep 60');
    await dovecot.deliver('alice', tricky(8));
    const account = imapAccount(dovecot, { deliver: `mda:${mda}` });
    const t = runnerFor(() => account, { mdaLimitMs: 1000 });
    const started = Date.now();
    const report = await readOnce(t, account);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(report.counts).toMatchObject({ received: 1, handOffRetrying: 1 });
    const [r] = await records(t);
    expect(r!.handoff!.error).toBe('the command did not finish within 1 s; its process group was killed');
    const child = Number(fs.readFileSync(path.join(path.dirname(mda), 'child'), 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(running(child)).toBe(false); // the grandchild went with the group
  });

  it('exit 65: refused for good at once, delivery-failed with what the command said; emails retry puts it back', async () => {
    const mda = script('cat > /dev/null\necho "no such mailbox" >&2\nexit 65');
    await dovecot.deliver('alice', tricky(9));
    const account = imapAccount(dovecot, { deliver: `mda:${mda}` });
    const t = runnerFor(() => account);
    const report = await readOnce(t, account);
    expect(report.counts).toMatchObject({ received: 1, handOffFailed: 1 });
    const [r] = await records(t);
    expect(r).toMatchObject({ state: 'delivery-failed', error: `hand-off to mda:${mda} failed: the command exited 65: no such mailbox` });
    expect(storedById(t.home, 'failed').size).toBe(1);
    expect(report.notes.join('\n')).toContain(`mailbox emails retry ${r!.id}`);
  });

  it('delete after download waits for the hand-off: the message stays on the server until it is delivered', async () => {
    const mda = script('cat > /dev/null\n[ -f "$DIR/ok" ] && exit 0\nexit 75');
    await dovecot.deliver('alice', tricky(10));
    const account = pop3Account(dovecot, { deliver: `mda:${mda}`, deleteAfterDownload: true });
    const t = runnerFor(() => account);
    const first = await readOnce(t, account);
    expect(first.counts).toMatchObject({ received: 1, handOffRetrying: 1, deleted: 0 });
    expect(await serverCount(dovecot, 'alice')).toBe(1);
    expect(first.notes.join('\n')).toContain('left on the server until their hand-off is done');
    fs.writeFileSync(path.join(path.dirname(mda), 'ok'), '');
    const [r] = await records(t);
    await t.stores.handoffs.retry(r!.id, new Date());
    const second = await readOnce(t, account);
    expect(second.counts).toMatchObject({ received: 0, handedOff: 1, deleted: 1 });
    expect(await serverCount(dovecot, 'alice')).toBe(0);
  });
});

describe('maildir destination', () => {
  it('another Maildir, created 0700, the message byte for byte in new/', async () => {
    await dovecot.deliver('alice', tricky(11));
    const target = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mbx-dest-')), 'deep', 'Maildir');
    cleanups.push(() => fs.rmSync(path.dirname(path.dirname(target)), { recursive: true, force: true }));
    const account = imapAccount(dovecot, { deliver: `maildir:${target}` });
    const t = runnerFor(() => account);
    expect((await readOnce(t, account)).counts).toMatchObject({ received: 1, handedOff: 1 });
    expect(fs.statSync(target).mode & 0o777).toBe(0o700);
    const files = fs.readdirSync(path.join(target, 'new'));
    expect(files).toHaveLength(1);
    expect(fs.readdirSync(path.join(target, 'tmp'))).toEqual([]);
    expect(fs.readFileSync(path.join(target, 'new', files[0]!)).equals([...storedById(t.home).values()].flat()[0]!)).toBe(true);
  });
});
