// A throwaway Dovecot 2.3 (IMAP + POP3) on 127.0.0.1, all state in one temp dir, config self-contained
// (never reads /etc/dovecot). Started in the foreground (`dovecot -F`) as our child.
//
// Delivered mail, line endings: deliver() goes through `doveadm save`, which stores lines with LF
// (CRLF -> LF; bare CR and 8-bit bytes kept). Dovecot serves LF as CRLF. So a test that delivers
// `input` reads back, after POP3 dot-unstuffing or as IMAP BODY[], exactly
//   input.replace(/\r?\n/g, '\r\n')            (= input itself when input is already CRLF)
// except: POP3 RETR of a message not ending in a newline gets CRLF appended before the "." line;
// a NUL byte comes back raw over POP3 but as 0x80 over IMAP.
import { execFile, spawn } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeCerts, type TestCerts } from './certs.js';
import { freePorts, HOST } from './ports.js';
import { pgrep, spawnDaemon, tailStderr, trackDir, type Daemon } from './procs.js';
import { USERS } from './users.js';

const run = promisify(execFile);

export interface DovecotOptions {
  /** false: a Dovecot with `ssl = no`, so plain ports offer no STARTTLS/STLS and there is no IMAPS/POP3S. */
  starttls?: boolean;
  /** Reuse certificates (e.g. the ones the SMTP server uses); default: fresh ones in the instance dir. */
  certs?: TestCerts;
  /** Seconds Dovecot waits after a failed login; default 0 (Dovecot's own default is 2). */
  authFailureDelay?: number;
  /** auth_debug + mail_debug + verbose_ssl into `${dir}/dovecot.log`. */
  debug?: boolean;
  /**
   * Also offer XOAUTH2 and OAUTHBEARER, checked by Dovecot's oauth2 passdb against this RFC 7662
   * introspection endpoint (https, trusting `caFile`; the token's `username` must be the login user).
   */
  /** Connections it serves at once, also of one user from one address; default 100 (Dovecot's limits as set here). */
  maxConnections?: number;
  oauth2?: { introspectUrl: string; caFile: string; /** Default both: "xoauth2 oauthbearer". */ mechanisms?: string };
  /** Also Dovecot's LMTP service (package dovecot-lmtpd), on a TCP port and a unix socket. */
  lmtp?: boolean;
}

export interface PlainDovecot {
  host: '127.0.0.1';
  imapPort: number;
  pop3Port: number;
  /** Temp dir holding everything; also the instance name seen in every Dovecot process title. */
  dir: string;
  confPath: string;
  logPath: string;
  users: Readonly<Record<string, string>>;
  /** With `lmtp`: Dovecot's LMTP service on 127.0.0.1 and on a unix socket; else undefined. */
  lmtpPort?: number;
  lmtpSocket?: string;
  /** Dovecot's own MDA for this instance: `dovecot-lda` delivering to `user` (the message on stdin). */
  ldaCommand(user: string): string;
  /** Save a message into a user's mailbox (default INBOX) through `doveadm save`; ~20 ms. */
  deliver(user: string, message: Buffer | string, mailbox?: string): Promise<void>;
  /** `doveadm -c confPath ...args`, resolves with stdout. */
  doveadm(args: string[]): Promise<string>;
  /** Kill the master, wait until no process of this instance is left, delete dir; idempotent. */
  stop(): Promise<void>;
  /** Kill every process of this instance (connections drop), keeping its dir, mail and ports: a server down. */
  halt(): Promise<void>;
  /** Start it again after halt(), on the same ports with the same mail. */
  resume(): Promise<void>;
}

export interface Dovecot extends PlainDovecot {
  imapsPort: number;
  pop3sPort: number;
  caFile: string;
  /** SHA-256 of the server certificate, `AA:BB:...`. */
  fingerprint: string;
  certs: TestCerts;
}

export function startDovecot(opts: DovecotOptions & { starttls: false }): Promise<PlainDovecot>;
export function startDovecot(opts?: DovecotOptions): Promise<Dovecot>;
export async function startDovecot(opts: DovecotOptions = {}): Promise<Dovecot | PlainDovecot> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mbx-dovecot-'));
  const untrack = trackDir(dir);
  try {
    // Dovecot's unprivileged processes (auth, mail as nobody) must traverse the dir.
    await chmod(dir, 0o755);
    const certs = opts.starttls === false ? undefined : (opts.certs ?? (await makeCerts(path.join(dir, 'tls'))));
    // Ports are picked by us, so another process may take one first: retry with new ones.
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(dir, certs, opts, untrack);
      } catch (e) {
        if (attempt >= 3 || !/Address already in use/.test(String(e))) throw e;
      }
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    untrack();
    throw e;
  }
}

async function launch(dir: string, certs: TestCerts | undefined, opts: DovecotOptions, untrack: () => void): Promise<Dovecot | PlainDovecot> {
  const [imapPort, pop3Port, imapsPort, pop3sPort, lmtpPort] = (await freePorts(5)) as [number, number, number, number, number];
  const lmtpSocket = path.join(dir, 'run', 'lmtp');
  const instance = path.basename(dir);
  const confPath = path.join(dir, 'dovecot.conf');
  const logPath = path.join(dir, 'dovecot.log');
  const mailDir = path.join(dir, 'mail');
  for (const d of ['run', 'state', 'mail']) await mkdir(path.join(dir, d), { recursive: true });
  const { uid, gid, runAs } = await layout();
  await chown(mailDir, uid, gid);
  const usersFile = path.join(dir, 'users');
  await writeFile(usersFile, Object.entries(USERS).map(([u, p]) => `${u}:{PLAIN}${p}\n`).join(''), { mode: 0o644 });
  await writeFile(logPath, '');
  if (opts.oauth2) {
    const oauth2Conf = [
      'introspection_mode = post',
      `introspection_url = ${opts.oauth2.introspectUrl}`,
      'force_introspection = yes',
      'username_attribute = username',
      'active_attribute = active',
      'active_value = true',
      `tls_ca_cert_file = ${opts.oauth2.caFile}`,
      'timeout_msecs = 5000',
      '',
    ].join('\n');
    await writeFile(path.join(dir, 'oauth2.conf.ext'), oauth2Conf, { mode: 0o644 });
  }
  const dbg = opts.debug ? 'yes' : 'no';
  // With ssl = no Dovecot silently skips `ssl = yes` listeners, so the TLS ones exist only when tls is on.
  const conf = `# written by test/harness/dovecot.ts
instance_name = ${instance}
base_dir = ${dir}/run
state_dir = ${dir}/state
listen = ${HOST}
protocols = imap pop3${opts.lmtp ? ' lmtp' : ''}
${opts.lmtp ? "# LMTP saves as received (CRLF): the tests compare delivered files byte for byte.\nmail_save_crlf = yes" : ""}
log_path = ${logPath}
auth_verbose = yes
auth_debug = ${dbg}
mail_debug = ${dbg}
verbose_ssl = ${dbg}
ssl = ${certs ? 'yes' : 'no'}
${certs ? `ssl_cert = <${certs.chainFile}\nssl_key = <${certs.keyFile}\nssl_min_protocol = TLSv1.2` : ''}
# Loopback counts as "secured" for Dovecot anyway; say so explicitly.
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256${opts.oauth2 ? ` ${opts.oauth2.mechanisms ?? 'xoauth2 oauthbearer'}` : ''}
auth_failure_delay = ${opts.authFailureDelay ?? 0}
${opts.oauth2 ? `passdb {
  driver = oauth2
  mechanisms = ${opts.oauth2.mechanisms ?? 'xoauth2 oauthbearer'}
  args = ${dir}/oauth2.conf.ext
}` : ''}
passdb {
  driver = passwd-file
  args = username_format=%u ${usersFile}
}
userdb {
  driver = static
  args = uid=${uid} gid=${gid} home=${mailDir}/%u
}
first_valid_uid = 1
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
}
${runAs}
service imap-login {
${opts.maxConnections ? `  # performance mode: a few login processes serve every TLS connection, instead of one process each\n  service_count = 0\n  client_limit = ${opts.maxConnections * 2}\n  process_min_avail = 2\n` : ''}  inet_listener imap {
    port = ${imapPort}
  }
${certs ? `  inet_listener imaps {\n    port = ${imapsPort}\n    ssl = yes\n  }` : ''}
}
service pop3-login {
  inet_listener pop3 {
    port = ${pop3Port}
  }
${certs ? `  inet_listener pop3s {\n    port = ${pop3sPort}\n    ssl = yes\n  }` : ''}
}
${opts.lmtp ? `service lmtp {
  inet_listener lmtp {
    address = ${HOST}
    port = ${lmtpPort}
  }
  unix_listener lmtp {
    mode = 0666
  }
}` : ''}
protocol imap {
  mail_max_userip_connections = ${opts.maxConnections ?? 100}
}
${opts.maxConnections ? `# Every session keeps its imap process.
default_client_limit = ${opts.maxConnections * 4}
# An IDLE session beyond the user's inotify instances (fs.inotify.max_user_instances, often 128) learns
# of new mail by checking every mailbox_idle_check_interval (default 30 s) instead.
mailbox_idle_check_interval = 1 secs
service imap {
  process_limit = ${opts.maxConnections * 2}
}` : ''}
protocol pop3 {
  mail_max_userip_connections = 100
}
# No auth penalty: after a failed login anvil would delay every later login from 127.0.0.1 by 2-15 s.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`;
  await writeFile(confPath, conf);

  let master = spawnDaemon('dovecot', ['-F', '-c', confPath], { killSignal: 'SIGKILL', removeDir: dir });
  const stderr = tailStderr(master.child);
  const failed = master.exited.then(async () => {
    throw new Error(`dovecot exited at start: ${stderr()}\n${await readFile(logPath, 'utf8').catch(() => '')}`);
  });
  try {
    await Promise.race([Promise.all([greeting(imapPort), greeting(pop3Port), ...(opts.lmtp ? [greeting(lmtpPort)] : [])]), failed]);
  } catch (e) {
    await kill(master, instance);
    throw e;
  }
  failed.catch(() => {}); // it exits at stop(), which is not a failure

  const doveadm = async (args: string[]) => (await run('doveadm', ['-c', confPath, ...args])).stdout;
  let stopped: Promise<void> | undefined;
  const base: PlainDovecot = {
    host: HOST,
    imapPort,
    pop3Port,
    dir,
    confPath,
    logPath,
    users: USERS,
    ...(opts.lmtp ? { lmtpPort, lmtpSocket } : {}),
    ldaCommand: (user) => `/usr/lib/dovecot/dovecot-lda -c ${confPath} -d ${user}`,
    doveadm,
    deliver: (user, message, mailbox = 'INBOX') => save(confPath, user, message, mailbox),
    halt: () => kill(master, instance),
    resume: async () => {
      master = spawnDaemon('dovecot', ['-F', '-c', confPath], { killSignal: 'SIGKILL', removeDir: dir });
      await Promise.all([greeting(imapPort), greeting(pop3Port)]);
    },
    stop: () =>
      (stopped ??= (async () => {
        await kill(master, instance);
        await rm(dir, { recursive: true, force: true });
        untrack();
      })()),
  };
  if (!certs) return base;
  return { ...base, imapsPort, pop3sPort, caFile: certs.caFile, fingerprint: certs.fingerprint, certs };
}

/** Root: privileged layout, mail owned by nobody (Dovecot refuses mail access as uid 0). Else: rootless. */
async function layout(): Promise<{ uid: number; gid: number; runAs: string }> {
  const { uid, gid, username } = os.userInfo();
  if (uid === 0) {
    const id = async (flag: string) => Number((await run('id', [flag, 'nobody'])).stdout.trim());
    return { uid: await id('-u'), gid: await id('-g'), runAs: '# privileged layout (root)' };
  }
  const group = (await run('id', ['-gn'])).stdout.trim();
  const runAs = [
    `default_internal_user = ${username}`,
    `default_internal_group = ${group}`,
    `default_login_user = ${username}`,
    ...['anvil', 'imap-login', 'pop3-login'].map((s) => `service ${s} {\n  chroot =\n}`),
  ].join('\n');
  return { uid, gid, runAs };
}

function save(confPath: string, user: string, message: Buffer | string, mailbox: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('doveadm', ['-c', confPath, 'save', '-u', user, '-m', mailbox], { stdio: ['pipe', 'ignore', 'pipe'] });
    const err = tailStderr(p);
    p.once('error', reject);
    p.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`doveadm save -u ${user} -m ${mailbox}: exit ${code}: ${err()}`))));
    p.stdin.on('error', () => {}); // reported through the exit code
    p.stdin.end(typeof message === 'string' ? Buffer.from(message, 'utf8') : message);
  });
}

/** Resolves once something on the port sends its first bytes (the greeting); retries for ~10 s. */
async function greeting(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, HOST);
      s.setTimeout(2000, () => s.destroy());
      s.once('data', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.once('close', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing greets on ${HOST}:${port}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** SIGKILL the master: its children see it die and exit within ~0.2 s (SIGTERM makes the master
 * linger 1.1 s). Then wait for every process titled with the instance name, KILL stragglers. */
async function kill(master: Daemon, instance: string): Promise<void> {
  await master.stop('SIGKILL');
  const deadline = Date.now() + 3000;
  for (;;) {
    const left = await pgrep(instance);
    if (left.length === 0) return;
    if (Date.now() > deadline + 2000) throw new Error(`dovecot processes left: ${left.join(' ')}`);
    if (Date.now() > deadline) {
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
