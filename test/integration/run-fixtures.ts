// Shared set-up for the reader, sender and runner tests: accounts on the harness servers, a Runner
// on a temporary store, fast bulk delivery into Dovecot, and what ended up in the local Maildir.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Account, AccountView } from '../../src/core/account.js';
import type { AddressFilter } from '../../src/core/filter.js';
import { debugLogs, protocolAdapters } from '../../src/jobs/protocol-adapters.js';
import type { CycleReport } from '../../src/jobs/cycles.js';
import { destinationOpener, type DestinationEdge } from '../../src/jobs/destinations.js';
import { Runner } from '../../src/jobs/runner.js';
import { openLocalStores } from '../../src/store/local/index.js';
import { resolvePaths } from '../../src/store/paths.js';
import { createSecretStore } from '../../src/store/secrets.js';
import type { Stores } from '../../src/store/types.js';
import type { Dovecot, SmtpServer } from '../harness/index.js';

const run = promisify(execFile);
export const PASSWORD_ENV = 'MBX_TEST_PASSWORD';

export function imapAccount(d: Dovecot, over: Partial<Account> = {}): AccountView {
  return {
    name: 'imap',
    type: 'imap',
    host: d.host,
    port: d.imapsPort,
    security: 'tls',
    auth: 'password',
    user: 'alice',
    secret: { kind: 'env', name: PASSWORD_ENV },
    active: true,
    debug: false,
    folder: 'INBOX',
    deleteAfterDownload: false,
    tls: { ca: d.caFile },
    provisioned: false,
    ...over,
  };
}

export function pop3Account(d: Dovecot, over: Partial<Account> = {}): AccountView {
  return { ...imapAccount(d), name: 'pop', type: 'pop3', port: d.pop3sPort, folder: undefined, ...over };
}

export function smtpAccount(s: SmtpServer, over: Partial<Account> = {}): AccountView {
  return {
    name: 'out',
    type: 'smtp',
    host: s.host,
    port: s.smtpsPort,
    security: 'tls',
    auth: 'password',
    user: 'alice',
    from: 'alice@example.test',
    secret: { kind: 'env', name: PASSWORD_ENV },
    active: true,
    debug: false,
    tls: { ca: s.caFile },
    provisioned: false,
    ...over,
  };
}

export interface TestRunner {
  home: string;
  stores: Stores;
  runner: Runner;
  reports: CycleReport[];
  notices: string[];
  cleanup: () => void;
}

/** A Runner on a fresh store; `password` is what the accounts' env secret resolves to. */
export function testRunner(accounts: () => AccountView[], filters: AddressFilter[] = [], password = 'alice-secret', edge: Partial<DestinationEdge> = {}): TestRunner {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mbx-run-'));
  const paths = resolvePaths({ MAILBOX_HOME: home });
  const stores = openLocalStores(paths, { clock: () => new Date(), pid: process.pid, isAlive: () => false });
  const reports: CycleReport[] = [];
  const notices: string[] = [];
  const runner = new Runner({
    stores,
    snapshot: async () => ({ accounts: accounts(), filters }),
    secrets: createSecretStore({ [PASSWORD_ENV]: password }, { killGroup: (pgid) => process.kill(-pgid, 'SIGKILL') }),
    adapters: protocolAdapters,
    debugLog: debugLogs(paths.logDir),
    clock: () => new Date(),
    monotonic: () => performance.now(),
    report: (r) => reports.push(r),
    notice: (n) => notices.push(n),
    openTarget: destinationOpener({ env: process.env, host: { killGroup: (pgid) => process.kill(-pgid, 'SIGKILL') }, ...edge }).open,
  });
  const cleanup = () => {
    void stores.close();
    fs.rmSync(home, { recursive: true, force: true });
  };
  return { home, stores, runner, reports, notices, cleanup };
}

/** Reads one account once. */
export function readOnce(t: TestRunner, account: Account, filters: AddressFilter[] = []): Promise<CycleReport> {
  return t.runner.readAccount(account, filters, new AbortController().signal);
}

export async function clearMailbox(d: Dovecot, user: string): Promise<void> {
  await d.doveadm(['expunge', '-u', user, 'mailbox', 'INBOX', 'all']);
}

/**
 * Many messages at once, written straight into the user's Maildir (doveadm save takes ~20 ms a
 * message). Messages are CRLF, so Dovecot serves exactly these bytes.
 */
export async function bulkDeliver(d: Dovecot, user: string, messages: Buffer[]): Promise<void> {
  await d.deliver(user, 'Subject: make the Maildir\r\n\r\nx\r\n');
  await clearMailbox(d, user);
  const maildir = path.join(d.dir, 'mail', user, 'Maildir');
  const owner = fs.statSync(path.join(d.dir, 'mail'));
  const stamp = Date.now();
  messages.forEach((m, i) => {
    const name = `${stamp}.M${i}P${process.pid}.bulk,S=${m.length}`;
    fs.writeFileSync(path.join(maildir, 'tmp', name), m);
    fs.chownSync(path.join(maildir, 'tmp', name), owner.uid, owner.gid);
    fs.renameSync(path.join(maildir, 'tmp', name), path.join(maildir, 'new', name));
  });
}

export async function serverCount(d: Dovecot, user: string): Promise<number> {
  const { stdout } = await run('doveadm', ['-c', d.confPath, 'mailbox', 'status', '-u', user, 'messages', 'INBOX']);
  return Number(/messages=(\d+)/.exec(stdout)?.[1] ?? NaN);
}

export function numbered(n: number, size = 600): Buffer[] {
  return Array.from({ length: n }, (_, i) =>
    Buffer.from(`Message-ID: <m${i + 1}@test>\r\nFrom: sender@example.test\r\nTo: alice@example.test\r\nSubject: message ${i + 1}\r\n\r\n${'y'.repeat(size)}\r\n.${i + 1}\r\n`),
  );
}

/** The ids of the messages in a box (the start of their file names). */
export function idsIn(home: string, box: string): string[] {
  return ['new', 'cur'].flatMap((sub) => {
    const dir = path.join(home, 'mail', box, sub);
    return fs.existsSync(dir) ? fs.readdirSync(dir).map((name) => name.split(',')[0]!) : [];
  });
}

/** The files of a box, by their Message-ID (or file name when they have none). */
export function storedById(home: string, box = 'inbox'): Map<string, Buffer[]> {
  const out = new Map<string, Buffer[]>();
  for (const sub of ['new', 'cur']) {
    const dir = path.join(home, 'mail', box, sub);
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir)) {
      const bytes = fs.readFileSync(path.join(dir, name));
      const id = /^Message-ID: <([^>]+)>/im.exec(bytes.toString('latin1'))?.[1] ?? name;
      out.set(id, [...(out.get(id) ?? []), bytes]);
    }
  }
  return out;
}
