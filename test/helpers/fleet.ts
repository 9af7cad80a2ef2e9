// A fleet on the harness: many incoming accounts on one Dovecot user (an IMAP account per folder,
// filled by writing straight into the folder's Maildir), outbound mail queued through the store's own
// API, and `mailbox run` workers (the built executable) started on one database. Free of the test
// runner, so that the benchmark (bench/lib/bench-fleet.ts) builds its fleet with it too.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Dovecot, SmtpServer } from '../harness/index.js';
import { openPostgresStores } from '../../src/store/postgres/index.js';

export const FLEET_USER = 'alice';
export const FLEET_PASSWORD_ENV = 'MBX_FLEET_PW';

/** A message of folder `folder`, numbered: its Message-ID names both, so a copy is recognised. */
export function fleetMessage(folder: string, n: number, size = 400): Buffer {
  return Buffer.from(`Message-ID: <${folder}-${n}@fleet.test>\r\nFrom: sender@example.test\r\nTo: alice@example.test\r\nSubject: ${folder} ${n}\r\n\r\n${'z'.repeat(size)}\r\n.${n}\r\n`);
}

/** Creates the folders (empty) and writes each one's messages into its Maildir (Dovecot serves these exact bytes). */
export async function fillFolders(d: Dovecot, folders: Record<string, Buffer[]>): Promise<void> {
  await d.deliver(FLEET_USER, 'Subject: make the Maildir\r\n\r\nx\r\n');
  const owner = fs.statSync(path.join(d.dir, 'mail'));
  for (const [folder, messages] of Object.entries(folders)) {
    const exists = (await d.doveadm(['mailbox', 'list', '-u', FLEET_USER])).split('\n').includes(folder);
    if (!exists) await d.doveadm(['mailbox', 'create', '-u', FLEET_USER, folder]);
    addToFolder(d, folder, messages, owner);
  }
}

/** More messages into an existing folder, as new mail arriving. */
export function addToFolder(d: Dovecot, folder: string, messages: Buffer[], owner = fs.statSync(path.join(d.dir, 'mail'))): void {
  const dir = path.join(d.dir, 'mail', FLEET_USER, 'Maildir', `.${folder}`);
  const stamp = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  messages.forEach((m, i) => {
    const name = `${stamp}.M${i}P${process.pid}.fleet,S=${m.length}`;
    fs.writeFileSync(path.join(dir, 'tmp', name), m);
    fs.chownSync(path.join(dir, 'tmp', name), owner.uid, owner.gid);
    fs.renameSync(path.join(dir, 'tmp', name), path.join(dir, 'new', name));
  });
}

/** The accounts document: one IMAP account per folder (plain IMAP on loopback), and the SMTP account. */
export function fleetAccounts(d: Dovecot, smtp: SmtpServer, folders: string[]): unknown {
  const common = { user: FLEET_USER, secret: { kind: 'env', name: FLEET_PASSWORD_ENV }, security: 'none' };
  return {
    accounts: [
      ...folders.map((folder) => ({ ...common, name: `box-${folder}`, type: 'imap', host: d.host, port: d.imapPort, folder })),
      { ...common, name: 'out', type: 'smtp', host: smtp.host, port: smtp.smtpsPort, security: 'tls', from: 'alice@example.test', tls: { ca: smtp.caFile } },
    ],
  };
}

/** Queues `n` messages for the SMTP account through the store itself (a process per message is slow). */
export async function queueOutbound(url: string, n: number): Promise<string[]> {
  const stores = await openPostgresStores(url, { clock: () => new Date(), pid: process.pid, isAlive: () => true });
  const ids: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const messageId = `out-${i}@fleet.test`;
      await stores.queue.enqueue(Buffer.from(`Message-ID: <${messageId}>\r\nFrom: alice@example.test\r\nTo: bob@example.test\r\nSubject: outbound ${i}\r\n\r\nhello ${i}\r\n`), {
        account: 'out',
        recipients: ['bob@example.test'],
      });
      ids.push(messageId);
    }
  } finally {
    await stores.close();
  }
  return ids;
}

export interface Worker {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * A `mailbox run` worker (`bin`: the executable) on the database, with its own MAILBOX_HOME (machines
 * share nothing but the database); `env`: the environment to start from.
 */
export function startWorker(bin: string, env: NodeJS.ProcessEnv, url: string, home: string, args: string[]): Worker {
  const child = spawn(process.execPath, [bin, 'run', '--log-format', 'json', ...args], {
    env: { ...env, MAILBOX_HOME: home, MAILBOX_DATABASE_URL: url, [FLEET_PASSWORD_ENV]: 'alice-secret' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  return { child, output: () => output, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
}
