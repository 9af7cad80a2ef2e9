// The tools an admin would use instead, from Debian's packages, each configured by an rc file written
// per run (mode 600) and pointed at the same servers over implicit TLS with the bench CA.
import fs from 'node:fs';
import path from 'node:path';
import { passwordOf, type BenchEnv } from './env.js';
import { notInstalled, type Cmd, type Job } from './job.js';
import { expectCount } from './maildir.js';
import { isRoot, mustRun, which } from './proc.js';
import { HOST } from './servers.js';

export type Incoming = 'imap' | 'pop3';

/** command -> Debian package */
export const PEER_PACKAGES: Record<string, string> = { fetchmail: 'fetchmail', getmail: 'getmail6', mbsync: 'isync', msmtp: 'msmtp' };

export function missingPeerPackages(): string[] {
  return Object.entries(PEER_PACKAGES).filter(([cmd]) => !which(cmd)).map(([, pkg]) => pkg);
}

export function aptLine(packages: string[]): string {
  return `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

export async function installPackages(packages: string[], log: (l: string) => void): Promise<void> {
  if (!isRoot()) throw new Error(`--install-peers needs root; run: sudo ${aptLine(packages)}`);
  log(`installing ${packages.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await mustRun('apt-get', ['update'], { env });
  await mustRun('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { env });
}

function writeRc(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

function rm(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

function port(env: BenchEnv, proto: Incoming): number {
  return proto === 'imap' ? env.dovecot.imapsPort : env.dovecot.pop3sPort;
}

/** The smallest MDA: stdin into DIR/tmp, then renamed into DIR/new (no fsync, no header added). */
const MDA = `#!/bin/bash
d=$1
f="\${EPOCHREALTIME/./}.P$$R$RANDOM.mda"
cat > "$d/tmp/$f" && mv "$d/tmp/$f" "$d/new/$f"
`;

/**
 * fetchmail with a Maildir MDA (one MDA process per message), or with --bsmtp FILE (every message
 * appended to one batch file, no process per message: fetchmail's own speed).
 */
export function fetchmailJob(env: BenchEnv, proto: Incoming, mode: 'mda' | 'bsmtp', user: string, expected: number): Job {
  let dir = '';
  return {
    tool: `fetchmail ${proto.toUpperCase()}S ${mode === 'mda' ? '(Maildir MDA)' : '(--bsmtp file)'}`,
    unavailable: notInstalled('fetchmail', 'fetchmail'),
    prepare() {
      dir = env.fresh(`fetchmail-${proto}-${mode}`);
      const out = path.join(dir, 'Maildir');
      for (const sub of ['tmp', 'new', 'cur']) fs.mkdirSync(path.join(out, sub), { recursive: true });
      const mda = path.join(dir, 'maildir-mda');
      fs.writeFileSync(mda, MDA, { mode: 0o755 });
      const rc = writeRc(dir, 'fetchmailrc', [
        'set no bouncemail',
        `poll ${HOST} service ${port(env, proto)} protocol ${proto} timeout 60`,
        `  user "${user}" there with password "${passwordOf(user)}"`,
        `  ssl sslcertck sslcertfile "${env.certs.caFile}"`,
        '  fetchall keep no rewrite',
        ...(mode === 'mda' ? [`  mda "${mda} ${out}"`] : []),
        '',
      ].join('\n'));
      // Its own lock file: as root fetchmail locks /var/run/fetchmail.pid, one fetchmail per machine.
      const args = ['-f', rc, '-N', '--nosyslog', '-i', path.join(dir, 'fetchids'), '--pidfile', path.join(dir, 'fetchmail.pid')];
      if (mode === 'bsmtp') args.push('--bsmtp', path.join(dir, 'batch.bsmtp'));
      return [{ cmd: 'fetchmail', args }];
    },
    verify() {
      if (mode === 'mda') return expectCount(path.join(dir, 'Maildir'), expected);
      const batch = fs.readFileSync(path.join(dir, 'batch.bsmtp'), 'latin1');
      const got = batch.match(/^MAIL FROM:/gm)?.length ?? 0;
      if (got !== expected) throw new Error(`batch file holds ${got} of ${expected} messages`);
    },
    cleanup: () => rm(dir),
  };
}

/**
 * getmail6 into a Maildir. As root it refuses to deliver into a Maildir, so it is told to deliver as
 * nobody (its `user` option) and the Maildir belongs to nobody.
 */
export function getmailJob(env: BenchEnv, proto: Incoming, user: string, expected: number): Job {
  let dir = '';
  return {
    tool: `getmail6 ${proto.toUpperCase()}S (Maildir)`,
    unavailable: notInstalled('getmail', 'getmail6'),
    // getmail6 forks a delivery child per message and can miss its SIGCHLD (notify before wait in
    // ForkingBase._wait_for_child): it then gives up after 60 s. Its bug, not the server's: run again.
    retryOn: { pattern: /waiting child pid \d+ timed out/, why: "getmail6 missed a delivery child's exit (its lost-wakeup bug) and gave up" },
    prepare() {
      dir = env.fresh(`getmail-${proto}`);
      const out = path.join(dir, 'Maildir');
      for (const sub of ['tmp', 'new', 'cur']) fs.mkdirSync(path.join(out, sub), { recursive: true });
      if (isRoot()) for (const p of [out, ...['tmp', 'new', 'cur'].map((s) => path.join(out, s))]) fs.chownSync(p, 65534, 65534);
      const rc = writeRc(dir, 'getmailrc', [
        '[retriever]',
        `type = ${proto === 'imap' ? 'SimpleIMAPSSLRetriever' : 'SimplePOP3SSLRetriever'}`,
        `server = ${HOST}`,
        `port = ${port(env, proto)}`,
        `username = ${user}`,
        `password = ${passwordOf(user)}`,
        `ca_certs = ${env.certs.caFile}`,
        ...(proto === 'imap' ? ['mailboxes = ("INBOX",)'] : []),
        '[destination]',
        'type = Maildir',
        `path = ${out}/`,
        ...(isRoot() ? ['user = nobody'] : []),
        '[options]',
        'read_all = true',
        'delete = false',
        'verbose = 0',
        '',
      ].join('\n'));
      fs.mkdirSync(path.join(dir, 'state'));
      return [{ cmd: 'getmail', args: ['--getmaildir', path.join(dir, 'state'), '--rcfile', rc, '--quiet'] }];
    },
    verify: () => expectCount(path.join(dir, 'Maildir'), expected),
    cleanup: () => rm(dir),
  };
}

/** An mbsync rc pulling `user`'s INBOX from an IMAPS port into OUT/INBOX (state beside the mail). */
export function mbsyncRc(env: BenchEnv, dir: string, user: string, port: number, out: string): string {
  return writeRc(dir, 'mbsyncrc', [
    'IMAPAccount bench',
    `Host ${HOST}`,
    `Port ${port}`,
    `User ${user}`,
    `Pass ${passwordOf(user)}`,
    'SSLType IMAPS',
    `CertificateFile ${env.certs.caFile}`,
    '',
    'IMAPStore remote',
    'Account bench',
    '',
    'MaildirStore local',
    `Path ${out}/`,
    `Inbox ${out}/INBOX`,
    'SubFolders Verbatim',
    '',
    'Channel bench',
    'Far :remote:',
    'Near :local:',
    'Patterns INBOX',
    'Create Near',
    'Sync Pull',
    'SyncState *',
    '',
  ].join('\n'));
}

export const MBSYNC_MISSING = notInstalled('mbsync', 'isync');

/** mbsync (isync) pulling INBOX into a Maildir over IMAPS. */
export function mbsyncJob(env: BenchEnv, user: string, expected: number): Job {
  let dir = '';
  return {
    tool: 'mbsync IMAPS (Maildir)',
    unavailable: MBSYNC_MISSING,
    prepare() {
      dir = env.fresh('mbsync');
      const out = path.join(dir, 'Maildir');
      fs.mkdirSync(out);
      return [{ cmd: 'mbsync', args: ['-q', '-c', mbsyncRc(env, dir, user, env.dovecot.imapsPort, out), 'bench'] }];
    },
    verify: () => expectCount(path.join(dir, 'Maildir', 'INBOX'), expected),
    cleanup: () => rm(dir),
  };
}

/** msmtp, one process per message as msmtpq runs it, over SMTPS; recipients from the To: header. */
export function msmtpJob(env: BenchEnv, files: string[]): Job {
  let dir = '';
  let before = 0;
  return {
    tool: 'msmtp (one process per message)',
    unavailable: notInstalled('msmtp', 'msmtp'),
    prepare() {
      dir = env.fresh('msmtp');
      before = env.smtp.messages().length;
      const rc = writeRc(dir, 'msmtprc', [
        'defaults',
        'tls on',
        'tls_starttls off',
        `tls_trust_file ${env.certs.caFile}`,
        'auth plain',
        'account bench',
        `host ${HOST}`,
        `port ${env.smtp.smtpsPort}`,
        'user alice',
        `password ${passwordOf('alice')}`,
        'from alice@example.test',
        'account default : bench',
        '',
      ].join('\n'));
      return files.map<Cmd>((file) => ({ cmd: 'msmtp', args: ['-C', rc, '-t'], opts: { inputFile: file } }));
    },
    verify: () => expectAccepted(env, before, files.length),
    cleanup: () => rm(dir),
  };
}

/** Throws unless the SMTP server accepted `expected` messages since it held `before`. */
export function expectAccepted(env: BenchEnv, before: number, expected: number): void {
  const accepted = env.smtp.messages().length - before;
  if (accepted !== expected) throw new Error(`the SMTP server accepted ${accepted} of ${expected} messages`);
}
