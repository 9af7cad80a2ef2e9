// What every benchmark gets: the servers, the CA, where to write, the options, a logger.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Log } from './measure.js';
import type { Options } from './options.js';
import { USERS, type Dovecot, type SmtpServer, type TestCerts } from './servers.js';

export interface BenchEnv {
  opts: Options;
  work: string;
  certs: TestCerts;
  dovecot: Dovecot;
  smtp: SmtpServer;
  log: Log;
  /** A new empty folder under the work folder, owned by `owner` when given. */
  fresh(name: string, owner?: { uid: number; gid: number }): string;
}

/** The repository root: the folder holding package.json named "mailbox", above this file. */
/** The harness's password of a Dovecot / SMTP user (given to the tools in their rc files). */
export function passwordOf(user: string): string {
  const password = USERS[user];
  if (password === undefined) throw new Error(`no test user ${user}`);
  return password;
}

export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'mailbox') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the mailbox repository above bench/');
    dir = up;
  }
}

let counter = 0;

export function makeFresh(work: string) {
  return (name: string, owner?: { uid: number; gid: number }): string => {
    const dir = path.join(work, 'runs', `${String(++counter).padStart(4, '0')}-${name.replace(/[^a-z0-9.-]+/gi, '-')}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    if (owner) fs.chownSync(dir, owner.uid, owner.gid);
    return dir;
  };
}
