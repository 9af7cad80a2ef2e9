// Several IMAP folders per account (issue 13) against Dovecot: names and LIST patterns, exclusions,
// a cursor per folder (a UIDVALIDITY change in one folder leaves the others alone and stores nothing
// twice), a folder that appears is read at the next cycle, one that disappears is reported, and the
// seen state of a single-folder account keeps working when it starts reading more folders.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AccountView } from '../../src/core/account.js';
import type { EmailRecord } from '../../src/store/types.js';
import { startDovecot } from '../harness/index.js';
import { afterEachTest, useServer } from '../helpers/file-servers.js';
import { imapAccount, readOnce, testRunner, type TestRunner } from './run-fixtures.js';

const dovecot = useServer(startDovecot);
const cleanups = afterEachTest();
let serial = 0;

/** A user of its own per test: folders and their UIDVALIDITY start clean. */
async function freshUser(): Promise<string> {
  // The harness users only: bob's mailboxes are recreated per test.
  const user = 'bob';
  for (const f of ['Support/A', 'Support/B', 'Support/C', 'Support', 'Other']) await dovecot().doveadm(['mailbox', 'delete', '-u', user, '-s', f]).catch(() => undefined);
  await dovecot().doveadm(['expunge', '-u', user, 'mailbox', 'INBOX', 'all']).catch(() => undefined);
  return user;
}

async function put(user: string, folder: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    serial++;
    await dovecot().deliver(user, `Message-ID: <f${serial}@test>\r\nFrom: s@example.test\r\nSubject: ${folder} ${serial}\r\n\r\nbody ${serial}\r\n`, folder);
  }
}

function runnerFor(account: () => AccountView): TestRunner {
  const t = testRunner(() => [account()], [], 'bob-secret');
  cleanups.push(t.cleanup);
  return t;
}

async function records(t: TestRunner): Promise<EmailRecord[]> {
  return [...(await t.stores.log.readAll()).values()];
}

function byFolder(rs: EmailRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rs) out[r.folder ?? '-'] = (out[r.folder ?? '-'] ?? 0) + 1;
  return out;
}

describe('several folders', () => {
  it('names and patterns, less the excluded; each record says its folder; a cursor per folder', async () => {
    const user = await freshUser();
    for (const f of ['Support/A', 'Support/B', 'Other']) await dovecot().doveadm(['mailbox', 'create', '-u', user, f]);
    await put(user, 'INBOX', 2);
    await put(user, 'Support/A', 2);
    await put(user, 'Support/B', 1);
    await put(user, 'Other', 1);
    const account = () => imapAccount(dovecot(), { user, folders: ['INBOX', 'Support/*'], excludeFolders: ['Support/B'] });
    const t = runnerFor(account);
    const report = await readOnce(t, account());
    expect(report.ok, report.summary).toBe(true);
    expect(report.counts.received).toBe(4);
    const rs = await records(t);
    expect(byFolder(rs)).toEqual({ INBOX: 2, 'Support/A': 2 });
    // The bytes read (the read-bytes metric) count every folder's messages.
    expect(report.counts.bytes).toBe(rs.reduce((sum, r) => sum + r.size, 0));
    expect(report.counts.bytes).toBeGreaterThan(0);
    for (const r of rs) expect(r.source).toMatch(r.folder === 'INBOX' ? /^\d+\/\d+$/ : /^\d+\/\d+\/Support\/A$/);
    expect(await t.stores.seen.imapCursor('imap')).toMatchObject({ folder: 'INBOX', lastUid: 2 });
    expect(await t.stores.seen.imapCursor('imap', 'Support/A')).toMatchObject({ folder: 'Support/A', lastUid: 2 });

    // Nothing new: nothing fetched again. A new message in one folder: only it.
    expect((await readOnce(t, account())).counts).toMatchObject({ received: 0, duplicates: 0 });
    await put(user, 'Support/A', 1);
    expect((await readOnce(t, account())).counts).toMatchObject({ received: 1, duplicates: 0 });
  });

  it('a UIDVALIDITY change in one folder: that folder is read again, nothing is stored twice, the others are untouched', async () => {
    const user = await freshUser();
    await dovecot().doveadm(['mailbox', 'create', '-u', user, 'Support/A']);
    await put(user, 'INBOX', 1);
    await put(user, 'Support/A', 2);
    const account = () => imapAccount(dovecot(), { user, folders: ['INBOX', 'Support/A'] });
    const t = runnerFor(account);
    expect((await readOnce(t, account())).counts.received).toBe(3);
    const before = (await t.stores.seen.imapCursor('imap', 'Support/A'))!.uidValidity;
    const inbox = await t.stores.seen.imapCursor('imap');

    // The folder rebuilt (restored from a backup): same messages, new UIDVALIDITY, plus one new.
    const kept = (await records(t)).filter((r) => r.folder === 'Support/A');
    await dovecot().doveadm(['mailbox', 'delete', '-u', user, 'Support/A']);
    await new Promise((r) => setTimeout(r, 1100)); // Dovecot's UIDVALIDITY is a time in seconds
    await dovecot().doveadm(['mailbox', 'create', '-u', user, 'Support/A']);
    for (const r of kept) {
      const file = await t.stores.mail.filePath(r);
      await dovecot().deliver(user, fs.readFileSync(file!), 'Support/A');
    }
    await put(user, 'Support/A', 1);
    const report = await readOnce(t, account());
    expect(report.ok, report.summary).toBe(true);
    expect(report.counts).toMatchObject({ received: 1, duplicates: 2 });
    expect(report.notes.join('\n')).toMatch(/Support\/A: UIDVALIDITY of Support\/A changed from \d+ to \d+/);
    expect((await t.stores.seen.imapCursor('imap', 'Support/A'))!.uidValidity).not.toBe(before);
    expect(await t.stores.seen.imapCursor('imap')).toEqual(inbox);
    expect(byFolder(await records(t))).toEqual({ INBOX: 1, 'Support/A': 3 });
  });

  it('a folder that appears is read at the next cycle; a named one that disappears is reported, the others are read', async () => {
    const user = await freshUser();
    await dovecot().doveadm(['mailbox', 'create', '-u', user, 'Other']);
    const account = () => imapAccount(dovecot(), { user, folders: ['Other', 'Support/*'] });
    const t = runnerFor(account);
    expect((await readOnce(t, account())).counts.received).toBe(0);
    await dovecot().doveadm(['mailbox', 'create', '-u', user, 'Support/C']);
    await put(user, 'Support/C', 2);
    expect((await readOnce(t, account())).counts.received).toBe(2);
    await dovecot().doveadm(['mailbox', 'delete', '-u', user, 'Other']);
    await put(user, 'Support/C', 1);
    const report = await readOnce(t, account());
    expect(report.ok).toBe(true);
    expect(report.counts.received).toBe(1);
    expect(report.notes).toContain('folder Other is not on the server (any more): it is left out; its seen state is kept');
    // One a pattern matched: reported once, the cycle it is gone.
    await dovecot().doveadm(['mailbox', 'delete', '-u', user, 'Support/C']);
    const gone = await readOnce(t, account());
    expect(gone.ok).toBe(true);
    expect(gone.notes).toContain('folder Support/C is not on the server any more: it is no longer read; its seen state is kept');
    expect((await readOnce(t, account())).notes.filter((n) => n.includes('Support/C'))).toEqual([]);
  });

  it('an account that read INBOX alone keeps its seen state when it reads more folders: nothing fetched again', async () => {
    const user = await freshUser();
    await dovecot().doveadm(['mailbox', 'create', '-u', user, 'Other']);
    await put(user, 'INBOX', 3);
    await put(user, 'Other', 1);
    let account = imapAccount(dovecot(), { user });
    const t = runnerFor(() => account);
    expect((await readOnce(t, account)).counts.received).toBe(3);
    expect(fs.readdirSync(t.home, { recursive: true }).filter((f) => /imap\.imap.*\.json$/.test(String(f))).map((f) => path.basename(String(f)))).toEqual(['imap.imap.json']);
    account = imapAccount(dovecot(), { user, folders: ['INBOX', 'Other'] });
    const report = await readOnce(t, account);
    expect(report.counts).toMatchObject({ received: 1, duplicates: 0 });
    expect(byFolder(await records(t))).toEqual({ INBOX: 3, Other: 1 });
  });
});
