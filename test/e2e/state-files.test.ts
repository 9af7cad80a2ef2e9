// The files under MAILBOX_HOME as a hostile neighbour would attack them (issue 10 item 7, issue 9
// item 13), through the built executable against Dovecot: a link, a hard link or a FIFO planted in
// place of any state or log file is refused (78) and its target is neither written nor chmod'ed; a
// home, state folder or config that others can write is refused (78, naming the mode); a home that
// cannot be created fails at once (74, naming the path); run.lock is 0600.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type Dovecot } from '../harness/index.js';
import { baseEnv, BIN, runMailbox, tmpHome, type RunResult } from '../helpers/cli.js';

let dovecot: Dovecot;
const cleanups: Array<() => void> = [];
const env = { MBX_PW: 'alice-secret' };

beforeAll(async () => {
  dovecot = await startDovecot();
  for (let i = 0; i < 3; i++) await dovecot.deliver('alice', `Message-ID: <state${i}@test>\r\nFrom: x@example.test\r\nSubject: state ${i}\r\n\r\nbody\r\n`);
});
afterAll(async () => {
  await dovecot?.stop();
  for (const c of cleanups) c();
});

function fresh(): string {
  const { home, cleanup } = tmpHome();
  cleanups.push(cleanup);
  return home;
}

/** A home with an IMAP and a POP3 account (debug on) against Dovecot, and its state folders made. */
function home(): string {
  const dir = fresh();
  const common = { user: 'alice', secret: { kind: 'env', name: 'MBX_PW' }, security: 'tls', active: true, debug: true, tls: { ca: dovecot.caFile } };
  const accounts = [
    { ...common, name: 'work-imap', type: 'imap', host: dovecot.host, port: dovecot.imapsPort, folder: 'INBOX' },
    { ...common, name: 'work-pop', type: 'pop3', host: dovecot.host, port: dovecot.pop3sPort },
  ];
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ version: 1, accounts, filters: [] }), { mode: 0o600 });
  for (const sub of ['state', 'state/seen', 'state/logs']) fs.mkdirSync(path.join(dir, sub), { mode: 0o700 });
  return dir;
}

/** A file outside the home that a planted link points at: it must come out as it went in. */
function target(): { file: string; intact: () => void } {
  const file = path.join(fresh(), 'bashrc');
  fs.writeFileSync(file, 'precious\n', { mode: 0o644 });
  return {
    file,
    intact: () => {
      expect(fs.readFileSync(file, 'utf8')).toBe('precious\n');
      expect(fs.statSync(file).mode & 0o777).toBe(0o644);
    },
  };
}

const said = (r: RunResult) => r.stdout + r.stderr;

describe('a link planted in state/', () => {
  const STATE_FILES = ['emails.jsonl', 'status.json', 'run.lock', 'seen/work-pop.uidl', 'seen/work-imap.imap.json', 'logs/work-imap.log', 'logs/work-pop.log'];

  it.each(STATE_FILES)('state/%s: mailbox run refuses it (78) and never writes or chmods its target', async (name) => {
    const dir = home();
    const t = target();
    const link = path.join(dir, 'state', name);
    fs.symlinkSync(t.file, link);
    const r = await runMailbox(['run', '--once'], { home: dir, env });
    expect(r.code, said(r)).toBe(78);
    expect(said(r)).toContain(`${link} is a symbolic link: mailbox does not use it`);
    t.intact();
  });

  it('the debug log: mailbox test refuses it too', async () => {
    const dir = home();
    const t = target();
    const link = path.join(dir, 'state', 'logs', 'work-imap.log');
    fs.symlinkSync(t.file, link);
    const r = await runMailbox(['test', 'work-imap'], { home: dir, env });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${link} is a symbolic link`);
    t.intact();
  });

  it('emails.jsonl: mailbox send, status and emails refuse it', async () => {
    const dir = home();
    const t = target();
    fs.symlinkSync(t.file, path.join(dir, 'state', 'emails.jsonl'));
    for (const args of [['send', '--to', 'bob@example.test', '--from', 'a@example.test', '--text', 'x'], ['status'], ['emails']]) {
      const r = await runMailbox(args, { home: dir, env });
      expect(r.code, args[0]).toBe(78);
      expect(r.stderr).toContain('is a symbolic link');
    }
    t.intact();
  });

  it('a hard link in place of the email log is refused, and so is a FIFO (without hanging)', async () => {
    const dir = home();
    const t = target();
    const log = path.join(dir, 'state', 'emails.jsonl');
    fs.linkSync(t.file, log);
    const hard = await runMailbox(['run', '--once'], { home: dir, env });
    expect(hard.code).toBe(78);
    expect(hard.stderr).toContain(`${log} has 2 names (hard links)`);
    t.intact();
    fs.rmSync(log);
    execFileSync('mkfifo', [log]);
    const fifo = await runMailbox(['emails'], { home: dir, env, timeoutMs: 10_000 });
    expect(fifo.signal).toBeNull();
    expect(fifo.code).toBe(78);
    expect(fifo.stderr).toContain(`${log} is not a plain file`);
  });

  it('without links, a run reads everything and leaves every file 0600 in 0700 folders, run.lock too', async () => {
    const dir = home();
    const child = spawn(process.execPath, [BIN, 'run', '--read-interval', '1h'], { env: baseEnv({ MAILBOX_HOME: dir, ...env }), stdio: 'ignore' });
    const lock = path.join(dir, 'state', 'run.lock');
    try {
      // Both accounts' first read cycles recorded (status.json exists earlier: the push state is saved at the start).
      const cycles = () => {
        try {
          return Object.keys(JSON.parse(fs.readFileSync(path.join(dir, 'state', 'status.json'), 'utf8')).accounts).length;
        } catch {
          return 0;
        }
      };
      for (let i = 0; i < 200 && cycles() < 2; i++) await new Promise((r) => setTimeout(r, 50));
      expect(fs.statSync(lock).mode & 0o777).toBe(0o600);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
    }
    const modes: string[] = [];
    for (const entry of fs.readdirSync(path.join(dir, 'state'), { recursive: true, withFileTypes: true })) {
      const st = fs.statSync(path.join(entry.parentPath, entry.name));
      modes.push(`${entry.name} ${(st.mode & 0o777).toString(8)}`);
      expect(st.mode & 0o777, entry.name).toBe(entry.isDirectory() ? 0o700 : 0o600);
    }
    expect(modes.length).toBeGreaterThan(5);
    expect(fs.readdirSync(path.join(dir, 'mail', 'inbox', 'new'))).toHaveLength(6);
  });
});

describe('folders and files others can write', () => {
  const cases = [
    { sub: '', mode: 0o777, args: ['list'], words: 'writable by every user (mode 0777)' },
    { sub: '', mode: 0o770, args: ['list'], words: 'writable by its group (mode 0770)' },
    { sub: 'config.json', mode: 0o666, args: ['list'], words: 'writable by every user (mode 0666)' },
    { sub: 'state', mode: 0o777, args: ['run', '--once'], words: 'writable by every user (mode 0777)' },
    { sub: 'state', mode: 0o1777, args: ['status'], words: 'writable by every user (mode 01777)' },
    { sub: 'state', mode: 0o777, args: ['send', '--to', 'b@example.test', '--from', 'a@example.test', '--text', 'x'], words: 'writable by every user' },
    { sub: 'state', mode: 0o777, args: ['test', 'work-imap'], words: 'writable by every user' },
    { sub: 'state/logs', mode: 0o757, args: ['test', 'work-pop'], words: 'writable by every user (mode 0757)' },
    { sub: 'mail', mode: 0o777, args: ['run', '--once'], words: 'writable by every user' },
  ].map((c) => ({ ...c, what: c.sub || 'MAILBOX_HOME', command: c.args[0], octal: c.mode.toString(8) }));

  it.each(cases)('$what at mode $octal: mailbox $command refuses it (78), naming it and the mode', async ({ sub, mode, args, words }) => {
    const dir = home();
    fs.mkdirSync(path.join(dir, 'mail'), { recursive: true });
    const refused = path.join(dir, sub);
    fs.chmodSync(refused, mode);
    const r = await runMailbox([...args], { home: dir, env });
    expect(r.code, said(r)).toBe(78);
    expect(r.stderr).toContain(`${refused.replace(/\/$/, '')} is ${words}`);
    expect(r.stderr).toContain('chmod go-w');
    expect(fs.existsSync(path.join(dir, 'state', 'emails.jsonl'))).toBe(false);
  });
});

describe('a home that cannot be created', () => {
  it.each([
    ['/proc/mailbox-x', 'the file system there does not allow it'],
    ['/proc/mailbox-x/deeper', 'the file system there does not allow it'],
    ['/dev/null/mailbox', 'a part of the path is not a folder'],
  ])('--home %s: add, run and send fail at once with 74 and the path', async (dir, why) => {
    const commands = [
      ['add', '--type', 'imap', '--name', 'x', '--host', 'h.example', '--user', 'u', '--password-env', 'P', '--no-test'],
      ['run', '--once'],
      ['send', '--to', 'b@example.test', '--from', 'a@example.test', '--text', 'x'],
    ];
    for (const args of commands) {
      const started = Date.now();
      const r = await runMailbox([...args, '--home', dir], { timeoutMs: 15_000 });
      expect(r.signal, args[0]).toBeNull();
      expect(Date.now() - started, args[0]).toBeLessThan(5000);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(74);
      expect(r.stderr).toMatch(new RegExp(`cannot (create|read) ${dir.split('/').slice(0, 3).join('/')}\\S*: ${why}`));
    }
  });
});
