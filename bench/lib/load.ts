// Filling a Dovecot mailbox fast: Maildir files written straight into cur/ (with the size and virtual size
// in the name so Dovecot need not read them), owned by the mail user, then one `doveadm index`.
import fs from 'node:fs';
import path from 'node:path';
import type { Dovecot } from './dovecot.js';
import { mustRun } from './proc.js';

function countLf(buf: Buffer): number {
  let n = 0;
  let at = buf.indexOf(10);
  while (at !== -1) {
    n++;
    at = buf.indexOf(10, at + 1);
  }
  return n;
}

function maildirDirs(maildir: string): void {
  for (const sub of ['tmp', 'new', 'cur']) fs.mkdirSync(path.join(maildir, sub), { recursive: true });
}

/** Puts messages 1..count (from `make`) into `user`'s INBOX and indexes it; returns the total bytes. */
export async function loadMailbox(dovecot: Dovecot, user: string, count: number, make: (i: number) => Buffer): Promise<number> {
  const maildir = dovecot.maildir(user);
  maildirDirs(maildir);
  const stamp = Math.floor(Date.now() / 1000);
  let total = 0;
  for (let i = 1; i <= count; i++) {
    const buf = make(i);
    total += buf.length;
    // Maildir name with S= (size) and W= (size with CRLF line ends); ":2," = no flags, not \Recent.
    const name = `${stamp}.M${i}P${process.pid}.bench,S=${buf.length},W=${buf.length + countLf(buf)}:2,`;
    fs.writeFileSync(path.join(maildir, 'cur', name), buf);
  }
  await finish(dovecot, user, count);
  return total;
}

/** Puts one prepared file (the 200 MB message) into `user`'s INBOX. */
export async function loadFile(dovecot: Dovecot, user: string, file: string): Promise<void> {
  const maildir = dovecot.maildir(user);
  maildirDirs(maildir);
  const size = fs.statSync(file).size;
  fs.copyFileSync(file, path.join(maildir, 'cur', `${Math.floor(Date.now() / 1000)}.M1P${process.pid}.big,S=${size}:2,`));
  await finish(dovecot, user, 1);
}

async function finish(dovecot: Dovecot, user: string, count: number): Promise<void> {
  const home = path.dirname(dovecot.maildir(user));
  await mustRun('chown', ['-R', `${dovecot.owner.uid}:${dovecot.owner.gid}`, home]);
  await dovecot.doveadm(['index', '-u', user, 'INBOX']);
  const status = await dovecot.doveadm(['mailbox', 'status', '-u', user, 'messages', 'INBOX']);
  const messages = Number(/messages=(\d+)/.exec(status)?.[1]);
  if (messages !== count) throw new Error(`loading ${user}: Dovecot sees ${messages} messages, expected ${count}`);
}
