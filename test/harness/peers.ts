// Other real mail servers than Dovecot and smtp-server, to check `mailbox` against implementations
// it was not written next to: Exim (SMTP), Cyrus IMAP (IMAP + POP3), Courier-IMAP (IMAP, started
// pre-authenticated: it greets with "* PREAUTH").
//
// All are opt-in: a test skips with the reason when a server is not there. Exim installs cleanly
// (`apt-get install exim4-daemon-light`); Cyrus and Courier conflict with the Dovecot packages the
// suite needs, so they are used unpacked, not installed: `bash test/harness/peers/extract-debs.sh DIR`
// then MAILBOX_PEER_ROOT=DIR. Each server runs on free loopback ports with every file in a temporary
// folder, in the foreground under the harness's watchdog (procs.ts), and is stopped by stop().
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir, chmod, chown } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeCerts, type TestCerts } from './certs.js';
import { freePorts, HOST } from './ports.js';
import { spawnDaemon, tailStderr, trackDir, type Daemon } from './procs.js';
import { USERS } from './users.js';

const run = promisify(execFile);

export interface PeerServer {
  name: string;
  host: typeof HOST;
  /** Protocol -> port, e.g. { smtp, smtps } or { imap, imaps, pop3, pop3s }. */
  ports: Record<string, number>;
  certs: TestCerts;
  users: Readonly<Record<string, string>>;
  dir: string;
  stop(): Promise<void>;
}

/** Where unpacked Debian packages live (MAILBOX_PEER_ROOT), else the system. */
function roots(): string[] {
  const extra = process.env.MAILBOX_PEER_ROOT;
  return extra ? [extra, '/'] : ['/'];
}

function find(relative: string): string | undefined {
  return roots().map((r) => path.join(r, relative)).find((p) => fs.existsSync(p));
}

/** LD_LIBRARY_PATH for binaries from an unpacked root (their libraries are unpacked beside them). */
function libraryEnv(binary: string): NodeJS.ProcessEnv {
  const root = roots().find((r) => r !== '/' && binary.startsWith(r));
  if (!root) return { ...process.env };
  const libs = ['usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu', 'usr/lib', 'usr/lib/aarch64-linux-gnu', 'lib/aarch64-linux-gnu'].map((l) => path.join(root, l));
  return { ...process.env, LD_LIBRARY_PATH: [...libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
}

const isRoot = () => process.getuid?.() === 0;

/** Why `name` cannot run here, or undefined when it can. */
export function peerMissing(name: 'exim' | 'cyrus' | 'courier'): string | undefined {
  const hint = 'see test/harness/peers.ts: apt-get install exim4-daemon-light; for Cyrus/Courier bash test/harness/peers/extract-debs.sh DIR and MAILBOX_PEER_ROOT=DIR';
  if (name === 'exim') return find('usr/sbin/exim4') ? undefined : `exim4 not installed (${hint})`;
  if (name === 'cyrus') {
    if (!find('usr/lib/cyrus/bin/master') || !find('usr/sbin/saslpasswd2')) return `Cyrus IMAP not found (${hint})`;
    return isRoot() ? undefined : 'Cyrus needs root here (its files are handed to the nobody user)';
  }
  return find('usr/sbin/couriertcpd') && find('usr/bin/imapd') ? undefined : `Courier-IMAP not found (${hint})`;
}

/** Resolves once `port` greets (any first line), rejects after `ms`. */
async function waitForGreeting(port: number, daemon: Daemon, stderr: () => string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  let exited = false;
  void daemon.exited.then(() => (exited = true));
  for (;;) {
    const greeted = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, HOST);
      s.setTimeout(3000, () => (s.destroy(), resolve(false))); // Courier without FAM greets after ~1.2 s
      s.once('data', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (greeted) return;
    if (exited || Date.now() > deadline) throw new Error(`server on port ${port} did not start: ${stderr().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function tempDir(prefix: string): Promise<{ dir: string; untrack: () => void }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await chmod(dir, 0o755);
  return { dir, untrack: trackDir(dir) };
}

/** Waits for `port` to greet; returns the daemon's stop(), having called it already if it never greeted. */
async function started(daemon: Daemon, dir: string, untrack: () => void, port: number, diagnostics: () => string): Promise<() => Promise<void>> {
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await daemon.stop('SIGTERM', 3000);
      await rm(dir, { recursive: true, force: true });
      untrack();
    })());
  try {
    await waitForGreeting(port, daemon, diagnostics);
  } catch (err) {
    await stop();
    throw err;
  }
  return stop;
}

/** Exim as an SMTP submission server: AUTH PLAIN/LOGIN (the harness users), STARTTLS, implicit TLS. */
export async function startExim(): Promise<PeerServer> {
  const exim = find('usr/sbin/exim4')!;
  const { dir, untrack } = await tempDir('mbx-exim-');
  const certs = await makeCerts(path.join(dir, 'tls'));
  const [smtp, smtps] = (await freePorts(2)) as [number, number];
  for (const sub of ['spool', 'log', 'mail']) await mkdir(path.join(dir, sub));
  // An lsearch value is the rest of its line, spaces and quotes included (not unquoted, not expanded).
  await writeFile(path.join(dir, 'passwd'), Object.entries(USERS).map(([u, p]) => `${u}: ${p}`).join('\n') + '\n');
  const check = (user: string, pass: string) => `\${if eq{${pass}}{\${lookup{${user}}lsearch{${dir}/passwd}}}}`;
  await writeFile(
    path.join(dir, 'exim.conf'),
    `primary_hostname = mail.test
spool_directory = ${dir}/spool
log_file_path = ${dir}/log/%slog
pid_file_path = ${dir}/exim.pid
local_interfaces = ${HOST}
daemon_smtp_ports = ${smtp} : ${smtps}
tls_on_connect_ports = ${smtps}
tls_certificate = ${certs.chainFile}
tls_privatekey = ${certs.keyFile}
tls_advertise_hosts = *
auth_advertise_hosts = *
host_lookup =
message_size_limit = 20M
acl_smtp_rcpt = acl_rcpt
begin acl
acl_rcpt:
  accept authenticated = *
  deny message = relay not permitted
begin routers
sink:
  driver = accept
  transport = to_file
begin transports
to_file:
  driver = appendfile
  file = ${dir}/mail/inbox
  user = ${isRoot() ? 'Debian-exim' : os.userInfo().username}
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${check('$auth2', '$auth3')}
  server_set_id = $auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${check('$auth1', '$auth2')}
  server_set_id = $auth1
`,
  );
  if (isRoot()) {
    // Exim writes its spool and log as its own user (Debian-exim) even when started by root.
    const { stdout } = await run('id', ['-u', 'Debian-exim']);
    const { stdout: gid } = await run('id', ['-g', 'Debian-exim']);
    for (const sub of ['spool', 'log', 'mail']) await chown(path.join(dir, sub), Number(stdout), Number(gid));
    await chmod(path.join(dir, 'mail'), 0o777);
    await chmod(certs.keyFile, 0o644);
  }
  const daemon = spawnDaemon(exim, ['-C', path.join(dir, 'exim.conf'), '-bdf'], { removeDir: dir, env: libraryEnv(exim) });
  const stderr = tailStderr(daemon.child);
  const stop = await started(daemon, dir, untrack, smtp, () => stderr() + readLog(path.join(dir, 'log', 'paniclog')) + readLog(path.join(dir, 'log', 'mainlog')));
  return { name: 'exim', host: HOST, ports: { smtp, smtps }, certs, users: USERS, dir, stop };
}

function readLog(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Cyrus IMAP 3: IMAP, IMAPS, POP3, POP3S; users in a sasldb; INBOX made at first login. */
export async function startCyrus(): Promise<PeerServer> {
  const bin = (name: string) => find(`usr/lib/cyrus/bin/${name}`)!;
  const saslpasswd = find('usr/sbin/saslpasswd2')!;
  const { dir, untrack } = await tempDir('mbx-cyrus-');
  const certs = await makeCerts(path.join(dir, 'tls'));
  const [imap, imaps, pop3, pop3s] = (await freePorts(4)) as [number, number, number, number];
  for (const sub of ['conf', 'spool', 'run']) await mkdir(path.join(dir, sub));
  const conf = path.join(dir, 'imapd.conf');
  const users = { alice: USERS.alice!, bob: USERS.bob! };
  await writeFile(
    conf,
    [
      `configdirectory: ${dir}/conf`,
      `partition-default: ${dir}/spool`,
      'cyrus_user: nobody',
      'cyrus_group: nogroup',
      'admins: cyrusadmin',
      'sasl_pwcheck_method: auxprop',
      'sasl_auxprop_plugin: sasldb',
      `sasl_sasldb_path: ${dir}/sasldb2`,
      'sasl_mech_list: PLAIN LOGIN',
      'allowplaintext: yes',
      'autocreate_quota: 0',
      'autocreate_post: 1',
      `tls_server_cert: ${certs.chainFile}`,
      `tls_server_key: ${certs.keyFile}`,
      `master_pid_file: ${dir}/run/master.pid`,
      `idlesocket: ${dir}/run/idle`,
      `lmtpsocket: ${dir}/run/lmtp`,
      `notifysocket: ${dir}/run/notify`,
      '',
    ].join('\n'),
  );
  const service = (name: string, cmd: string, port: number) => `  ${name} cmd="${cmd} -C ${conf}" listen="${HOST}:${port}" prefork=0`;
  await writeFile(
    path.join(dir, 'cyrus.conf'),
    `START {\n  recover cmd="${bin('ctl_cyrusdb')} -r -C ${conf}"\n}\nSERVICES {\n${[
      service('imap', bin('imapd'), imap),
      service('imaps', `${bin('imapd')} -s`, imaps),
      service('pop3', bin('pop3d'), pop3),
      service('pop3s', `${bin('pop3d')} -s`, pop3s),
    ].join('\n')}\n}\nEVENTS {\n}\n`,
  );
  const env = libraryEnv(bin('master'));
  for (const [user, pass] of Object.entries(users)) {
    await new Promise<void>((resolve, reject) => {
      const child = execFile(saslpasswd, ['-f', `${dir}/sasldb2`, '-p', '-c', user], { env: libraryEnv(saslpasswd) }, (err) => (err ? reject(err) : resolve()));
      child.stdin!.end(pass);
    });
  }
  await run('chown', ['-R', 'nobody:nogroup', dir]);
  await chmod(certs.keyFile, 0o644);
  const daemon = spawnDaemon(bin('master'), ['-C', conf, '-M', path.join(dir, 'cyrus.conf'), '-D'], { removeDir: dir, env });
  const stop = await started(daemon, dir, untrack, imap, tailStderr(daemon.child));
  return { name: 'cyrus', host: HOST, ports: { imap, imaps, pop3, pop3s }, certs, users, dir, stop };
}

/**
 * Courier-IMAP's imapd behind couriertcpd, started already logged in as alice (how Courier runs
 * imapd after its own login): it greets "* PREAUTH". Without the FAM daemon it also sends a real
 * "* OK [ALERT]" line before the greeting.
 */
export async function startCourierPreauth(): Promise<PeerServer> {
  const tcpd = find('usr/sbin/couriertcpd')!;
  const imapd = find('usr/bin/imapd')!;
  const maildirmake = find('usr/bin/maildirmake.courier');
  const { dir, untrack } = await tempDir('mbx-courier-');
  const certs = await makeCerts(path.join(dir, 'tls'));
  const [imap] = (await freePorts(1)) as [number];
  const home = path.join(dir, 'home');
  await mkdir(home);
  if (maildirmake) await run(maildirmake, [path.join(home, 'Maildir')], { env: libraryEnv(maildirmake) });
  else for (const sub of ['cur', 'new', 'tmp']) await mkdir(path.join(home, 'Maildir', sub), { recursive: true });
  const daemon = spawnDaemon(
    tcpd,
    ['-nodnslookup', '-noidentlookup', `-address=${HOST}`, `-stderr=${dir}/imapd.log`, String(imap), imapd, 'Maildir'],
    // Its own process group: couriertcpd signals its group at start, which would hit the test runner.
    { cwd: home, removeDir: dir, detached: true, env: { ...libraryEnv(tcpd), AUTHENTICATED: 'alice', HOME: home, IMAP_CAPABILITY: 'IMAP4rev1 UIDPLUS CHILDREN NAMESPACE IDLE' } },
  );
  const stop = await started(daemon, dir, untrack, imap, tailStderr(daemon.child));
  return { name: 'courier', host: HOST, ports: { imap }, certs, users: { alice: '' }, dir, stop };
}
