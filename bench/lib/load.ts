// Filling a Dovecot mailbox fast: Maildir files written straight into cur/ (with the size and virtual size
// in the name so Dovecot need not read them), owned by the mail user, then one `doveadm index`.
// (The harness's deliver() goes through `doveadm save`, ~20 ms a message: minutes for 50,000.)
import fs from 'node:fs';
import path from 'node:path';
import { mustRun } from './proc.js';
import type { Dovecot } from './servers.js';

function countLf(buf: Buffer): number {
  let n = 0;
  for (let at = buf.indexOf(10); at !== -1; at = buf.indexOf(10, at + 1)) n++;
  return n;
}

/** Empties `user`'s mail home (mail and indexes) and returns its INBOX Maildir, made afresh. */
async function emptyMaildir(dovecot: Dovecot, user: string): Promise<string> {
  const home = (await dovecot.doveadm(['user', '-f', 'home', user])).trim();
  fs.rmSync(home, { recursive: true, force: true });
  const maildir = path.join(home, 'Maildir');
  for (const sub of ['tmp', 'new', 'cur']) fs.mkdirSync(path.join(maildir, sub), { recursive: true });
  return maildir;
}

/** Replaces `user`'s INBOX with messages 1..count (from `make`) and indexes it; returns the total bytes. */
export async function loadMailbox(dovecot: Dovecot, user: string, count: number, make: (i: number) => Buffer): Promise<number> {
  const maildir = await emptyMaildir(dovecot, user);
  const stamp = Math.floor(Date.now() / 1000);
  let total = 0;
  for (let i = 1; i <= count; i++) {
    const buf = make(i);
    total += buf.length;
    // S= size, W= size with CRLF line ends; ":2," = no flags, and in cur/ so not \Recent.
    const name = `${stamp}.M${i}P${process.pid}.bench,S=${buf.length},W=${buf.length + countLf(buf)}:2,`;
    fs.writeFileSync(path.join(maildir, 'cur', name), buf);
  }
  await finish(dovecot, user, maildir, count);
  return total;
}

/** Replaces `user`'s INBOX with one prepared file (the big message). */
export async function loadFile(dovecot: Dovecot, user: string, file: string): Promise<void> {
  const maildir = await emptyMaildir(dovecot, user);
  const size = fs.statSync(file).size;
  fs.copyFileSync(file, path.join(maildir, 'cur', `${Math.floor(Date.now() / 1000)}.M1P${process.pid}.big,S=${size}:2,`));
  await finish(dovecot, user, maildir, 1);
}

async function finish(dovecot: Dovecot, user: string, maildir: string, count: number): Promise<void> {
  const home = path.dirname(maildir);
  // The mail user owns the folder that holds every user's home.
  const owner = fs.statSync(path.dirname(home));
  await mustRun('chown', ['-R', `${owner.uid}:${owner.gid}`, home]);
  await dovecot.doveadm(['index', '-u', user, 'INBOX']);
  const status = await dovecot.doveadm(['mailbox', 'status', '-u', user, 'messages', 'INBOX']);
  const messages = Number(/messages=(\d+)/.exec(status)?.[1]);
  if (messages !== count) throw new Error(`loading ${user}: Dovecot sees ${messages} messages, expected ${count}`);
}
