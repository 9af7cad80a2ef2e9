// Password commands (issue 9 item 1, issue 10 item 6), through the built executable against Dovecot
// and the SMTP server: a command that hangs, or leaves a grandchild holding its output open, is
// bounded by the command's time limit and killed with everything it started (75); a command that
// fails says so with its exit code, and what it printed on stderr (the secret, say) reaches no
// output and no file, in any form; on a terminal its error output is shown, the secret taken out.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startDovecot, startSmtp } from '../harness/index.js';
import { afterEachTest, useServer } from '../helpers/file-servers.js';
import { baseEnv, BIN, readTree, runMailbox, tmpHome, type RunResult } from '../helpers/cli.js';
import { secretForms, SECRET } from '../helpers/robustness.js';

const exec = promisify(execFile);
const dovecot = useServer(startDovecot);
const smtp = useServer(startSmtp);
const cleanups = afterEachTest();

/** Digits that make this run's `sleep` commands its own (a killed run's leftovers do not count). */
const RUN = String(1000 + Math.floor(Math.random() * 9000));

/** Processes (of any parent) whose command line holds `marker`: what a killed group must not leave. */
function running(marker: string): number[] {
  const found: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      const state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
      if (cmdline.includes(marker) && state !== 'Z') found.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** What is still running of `marker` once those being killed have had a moment to die. */
async function survivors(marker: string): Promise<number[]> {
  for (let i = 0; i < 20 && running(marker).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  return running(marker);
}

/** A home with one account per type, each reading its password from `command`. */
function home(command: string, over: Record<string, unknown> = {}): string {
  const { home: dir, cleanup } = tmpHome();
  cleanups.push(cleanup);
  const common = { user: 'alice', secret: { kind: 'command', command }, security: 'tls', active: true, debug: true, ...over };
  const accounts = [
    { ...common, name: 'cmd-imap', type: 'imap', host: dovecot().host, port: dovecot().imapsPort, folder: 'INBOX', tls: { ca: dovecot().caFile } },
    { ...common, name: 'cmd-pop', type: 'pop3', host: dovecot().host, port: dovecot().pop3sPort, tls: { ca: dovecot().caFile } },
    { ...common, name: 'cmd-smtp', type: 'smtp', host: smtp().host, port: smtp().smtpsPort, from: 'alice@example.test', tls: { ca: smtp().caFile } },
  ];
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ version: 1, accounts, filters: [] }), { mode: 0o600 });
  return dir;
}

async function timed(run: Promise<RunResult>): Promise<RunResult & { ms: number }> {
  const started = Date.now();
  const r = await run;
  return { ...r, ms: Date.now() - started };
}

describe('a password command that does not finish', () => {
  it('test --timeout 3: a command that sleeps is stopped at the limit (75), with nothing it started left running', async () => {
    const dir = home(`sleep 41.3${RUN}`);
    const r = await timed(runMailbox(['test', 'cmd-imap', '--timeout', '3', '--json'], { home: dir }));
    expect(r.code).toBe(75);
    expect(r.ms).toBeLessThan(8000);
    const [result] = JSON.parse(r.stdout) as Array<{ error: { code: string; message: string } }>;
    expect(result!.error).toMatchObject({ code: 'ETIMEDOUT', message: 'account cmd-imap: the password command did not finish within 3 s; it was stopped' });
    expect(await survivors(`sleep 41.3${RUN}`)).toEqual([]);
  });

  it('a grandchild holding the output open does not hold up a command that printed the password; it is killed', async () => {
    const dir = home(`sleep 42.1${RUN} & printf '%s\\n' "$MBX_PW"`);
    const r = await timed(runMailbox(['test', 'cmd-imap', 'cmd-pop', 'cmd-smtp', '--timeout', '10'], { home: dir, env: { MBX_PW: 'alice-secret' } }));
    expect(r.stdout).toContain('all 3 accounts ok');
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(6000);
    expect(await survivors(`sleep 42.1${RUN}`)).toEqual([]);
  });

  it('a pipeline that hangs (sleep | cat) is stopped at the limit, every part of it', async () => {
    const dir = home(`sleep 43.1${RUN} | cat`);
    const r = await timed(runMailbox(['test', 'cmd-pop', '--timeout', '2'], { home: dir }));
    expect(r.code).toBe(75);
    expect(r.ms).toBeLessThan(7000);
    expect(await survivors(`sleep 43.1${RUN}`)).toEqual([]);
  });

  it('a process that left the group (setsid) and holds the output open does not hold up the resolution', async () => {
    const dir = home(`setsid sleep 44.1${RUN} & sleep 0.2; printf '%s\\n' "$MBX_PW"`);
    try {
      const r = await timed(runMailbox(['test', 'cmd-imap', '--timeout', '10'], { home: dir, env: { MBX_PW: 'alice-secret' } }));
      expect(r.code).toBe(0);
      expect(r.ms).toBeLessThan(6000);
    } finally {
      for (const pid of running(`sleep 44.1${RUN}`)) process.kill(pid, 'SIGKILL');
    }
  });

  it('add and run use their own limit (15 s, the connection test\'s): 75, nothing saved, the cycle reported', { timeout: 60_000 }, async () => {
    const empty = tmpHome();
    cleanups.push(empty.cleanup);
    const runHome = home(`sleep 45.2${RUN}`);
    const [add, run] = await Promise.all([
      timed(
        runMailbox(['add', '--type', 'imap', '--name', 'slow', '--host', dovecot().host, '--port', String(dovecot().imapsPort), '--ca', dovecot().caFile, '--user', 'alice', '--password-command', `sleep 45.1${RUN}`], {
          home: empty.home,
          timeoutMs: 40_000,
        }),
      ),
      timed(runMailbox(['run', '--once', '--account', 'cmd-imap', '--log-format', 'json'], { home: runHome, timeoutMs: 40_000 })),
    ]);
    expect(add.code).toBe(75);
    expect(add.stderr).toContain('the password command did not finish within 15 s');
    expect(add.ms).toBeGreaterThan(14_000);
    expect(add.ms).toBeLessThan(25_000);
    expect(fs.existsSync(path.join(empty.home, 'config.json'))).toBe(false);
    expect(run.code).toBe(75);
    expect(run.ms).toBeLessThan(25_000);
    const line = JSON.parse(run.stdout.trim().split('\n')[0]!) as { account: string; error: { code: string; message: string } };
    expect(line).toMatchObject({ account: 'cmd-imap', error: { code: 'ETIMEDOUT', message: expect.stringContaining('did not finish within 15 s') } });
    const status = JSON.parse(fs.readFileSync(path.join(runHome, 'state', 'status.json'), 'utf8')) as object;
    expect(JSON.stringify(status)).toContain('did not finish within 15 s');
    expect([...(await survivors(`sleep 45.1${RUN}`)), ...(await survivors(`sleep 45.2${RUN}`))]).toEqual([]);
  });
});

describe('a runner stopped while a password command runs', () => {
  async function runnerWaitingOn(marker: string) {
    const dir = home(`sleep ${marker}${RUN}`);
    const child = spawn(process.execPath, [BIN, 'run', '--account', 'cmd-pop'], { env: baseEnv({ MAILBOX_HOME: dir }), stdio: 'ignore' });
    cleanups.push(() => child.kill('SIGKILL'));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    for (let i = 0; i < 400 && running(`sleep ${marker}${RUN}`).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(running(`sleep ${marker}${RUN}`).length).toBeGreaterThan(0);
    return { child, exited };
  }

  it('SIGINT: the command (out of reach of the terminal\'s Ctrl-C) is killed at once and the runner stops (0)', async () => {
    const { child, exited } = await runnerWaitingOn('47.1');
    const signalled = Date.now();
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(3000);
    expect(await survivors(`sleep 47.1${RUN}`)).toEqual([]);
  });

  it('a second SIGINT exits at once (130), and the command dies with it', async () => {
    const { child, exited } = await runnerWaitingOn('47.2');
    child.kill('SIGINT');
    child.kill('SIGINT');
    expect([0, 130]).toContain(await exited);
    await new Promise((r) => setTimeout(r, 100));
    expect(await survivors(`sleep 47.2${RUN}`)).toEqual([]);
  });
});

describe('a password command that fails after printing the secret on stderr', () => {
  const FAILS = `printf 'gpg: cannot decrypt for %s\\n' "$LEAK_PW" >&2; exit 3`;
  /** Also prints it on stdout before failing: that is no password either. */
  const FAILS_LOUDLY = `printf '%s\\n' "$LEAK_PW"; printf '%s\\n' "$LEAK_PW" >&2; exit 4`;
  const env = { LEAK_PW: SECRET };

  function noLeak(dir: string, ...outputs: string[]): void {
    const everything = outputs.join('\n') + readTree(dir);
    for (const form of secretForms('alice')) expect(everything).not.toContain(form);
  }

  it.each([
    ['on stderr only', FAILS, 3],
    ['on stdout and stderr', FAILS_LOUDLY, 4],
  ])('%s: test, add and run say it failed and its exit code (78); the secret is in no output and no file', async (_, command, exit) => {
    const dir = home(command);
    const test = await runMailbox(['test', '--json'], { home: dir, env });
    expect(test.code).toBe(78);
    const results = JSON.parse(test.stdout) as Array<{ error: { code: string; message: string } }>;
    expect(results.map((x) => x.error.message)).toEqual(
      ['cmd-imap', 'cmd-pop', 'cmd-smtp'].map((name) => `account ${name}: the password command failed (exit code ${exit})`),
    );
    const add = await runMailbox(['add', '--type', 'pop3', '--name', 'new-pop', '--host', dovecot().host, '--port', String(dovecot().pop3sPort), '--ca', dovecot().caFile, '--user', 'alice', '--debug', '--password-command', command], {
      home: dir,
      env,
    });
    expect(add.code).toBe(78);
    expect(add.stderr).toContain(`the password command failed (exit code ${exit})`);
    const queued = await runMailbox(['send', '--to', 'bob@example.test', '--subject', 'hi', '--text', 'body'], { home: dir });
    expect(queued.code).toBe(0);
    const run = await runMailbox(['run', '--once', '--log-format', 'json'], { home: dir, env });
    expect(run.code).toBe(78);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { account: string; error: { message: string } });
    expect(lines.map((l) => [l.account, l.error.message]).sort()).toEqual(
      ['cmd-imap', 'cmd-pop', 'cmd-smtp'].map((name) => [name, `account ${name}: the password command failed (exit code ${exit})`]),
    );
    const status = await runMailbox(['status', '--json'], { home: dir });
    const emails = await runMailbox(['emails', '--json'], { home: dir });
    noLeak(dir, test.stdout, test.stderr, add.stdout, add.stderr, run.stdout, run.stderr, status.stdout, emails.stdout);
  });

  it('on a terminal its error output is shown, the secret taken out; without one it is not shown at all', async () => {
    const dir = home(FAILS_LOUDLY);
    const shell = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} test cmd-pop --timeout 5`;
    // script(1) runs it on a pseudo-terminal, as an admin at a shell would.
    const { stdout } = await exec('script', ['-qec', shell, '/dev/null'], { env: baseEnv({ MAILBOX_HOME: dir, ...env }) }).catch((err: { stdout: string }) => err);
    expect(stdout).toContain('password command of cmd-pop, error output:');
    expect(stdout).toContain('<redacted>');
    for (const form of secretForms('alice')) expect(stdout).not.toContain(form);
    const plain = await runMailbox(['test', 'cmd-pop', '--timeout', '5'], { home: dir, env });
    expect(plain.stderr + plain.stdout).not.toContain('password command of cmd-pop, error output');
  });
});
