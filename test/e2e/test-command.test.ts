// `mailbox test` as a user or a CI script runs it: the built executable, real servers.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, startDovecot, startSecretService, startSilentServer, startSmtp, type Dovecot, type SecretService, type SilentServer, type SmtpServer } from '../harness/index.js';
import { readTree, runMailbox, tmpHome } from '../helpers/cli.js';

let dovecot: Dovecot;
let smtp: SmtpServer;
let silent: SilentServer;
let closed: number;
let home: string;
let cleanup: () => void;

const PW = 'alice-secret';
const ENV = { ALICE_PW: PW };

interface JsonResult {
  account: string;
  type: string;
  ok: boolean;
  stages: { name: string; ok: boolean; ms: number; detail: string }[];
  error: { code: string; message: string; hint: string | null } | null;
}

function account(name: string, type: string, port: number, security: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    type,
    host: '127.0.0.1',
    port,
    security,
    auth: 'password',
    user: 'alice',
    secret: { kind: 'env', name: 'ALICE_PW' },
    active: true,
    debug: false,
    tls: { ca: type === 'smtp' ? smtp.caFile : dovecot.caFile },
    ...extra,
  };
}

function writeConfig(dir: string, accounts: unknown[]): void {
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ version: 1, accounts, filters: [], provisionedActive: {} }), { mode: 0o600 });
}

function noPassword(...texts: string[]): void {
  for (const text of texts) {
    expect(text).not.toContain(PW);
    expect(text).not.toContain(Buffer.from(PW).toString('base64'));
    expect(text).not.toContain(Buffer.from(`\0alice\0${PW}`).toString('base64'));
  }
}

beforeAll(async () => {
  [dovecot, smtp, silent, closed] = await Promise.all([startDovecot(), startSmtp(), startSilentServer(), closedPort()]);
  ({ home, cleanup } = tmpHome());
  writeConfig(home, [
    account('imap-tls', 'imap', dovecot.imapsPort, 'tls', { folder: 'INBOX', debug: true }),
    account('pop-starttls', 'pop3', dovecot.pop3Port, 'starttls'),
    account('smtp-tls', 'smtp', smtp.smtpsPort, 'tls', { from: 'alice@example.test', debug: true }),
    account('wrong-pw', 'imap', dovecot.imapsPort, 'tls', { folder: 'INBOX', secret: { kind: 'env', name: 'WRONG_PW' }, active: false }),
    account('closed', 'pop3', closed, 'none', { active: false }),
    account('nohost', 'smtp', 465, 'tls', { host: 'mailbox-test.invalid', active: false }),
    account('silent', 'imap', silent.port, 'none', { folder: 'INBOX', active: false }),
    account('tls-as-starttls', 'imap', dovecot.imapsPort, 'starttls', { folder: 'INBOX', active: false }),
    account('untrusted', 'smtp', smtp.smtpsPort, 'tls', { tls: {}, active: false }),
    account('pinned', 'smtp', smtp.smtpsPort, 'tls', { tls: { fingerprint: smtp.fingerprint }, active: false }),
    account('wrong-pin', 'pop3', dovecot.pop3sPort, 'tls', { tls: { fingerprint: smtp.fingerprint }, active: false }),
    account('no-secret', 'pop3', dovecot.pop3sPort, 'tls', { secret: { kind: 'env', name: 'UNSET_PW' }, active: false }),
  ]);
});

afterAll(async () => {
  await Promise.all([dovecot?.stop(), smtp?.stop(), silent?.stop()]);
  cleanup?.();
});

describe('mailbox test', () => {
  it('tests every active account, prints a line per stage and a summary, exit 0', async () => {
    const r = await runMailbox(['test'], { home, env: ENV });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    // Stable order: config order, whatever finished first.
    const order = ['imap-tls', 'pop-starttls', 'smtp-tls'].map((n) => r.stdout.indexOf(`${n}: ok`));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(r.stdout).toMatch(/✓ resolve +\d+ ms {2}127\.0\.0\.1/);
    expect(r.stdout).toMatch(/✓ tls +\d+ ms {2}TLSv1\.3 .*verified against the account's CA file/);
    expect(r.stdout).toMatch(/✓ probe +\d+ ms {2}INBOX: 0 messages, UIDVALIDITY \d+, UIDNEXT 1/);
    expect(r.stdout).toMatch(/✓ probe +\d+ ms {2}SIZE limit 10485760 bytes/);
    expect(r.stdout).toContain('all 3 accounts ok');
    expect(r.stdout).not.toContain('wrong-pw');
    expect(r.stdout).not.toMatch(/\x1b\[/); // NO_COLOR, and no spinner without a terminal
    expect(r.stderr).not.toMatch(/testing \d account/);
    noPassword(r.stdout, r.stderr);
  });

  it('--all --json: one object per account in order, each failure with its code and hint; exit code of the first failure', async () => {
    const r = await runMailbox(['test', '--all', '--json', '--timeout', '2'], { home, env: { ...ENV, WRONG_PW: 'not-it' } });
    const results = JSON.parse(r.stdout) as JsonResult[];
    expect(results.map((x) => x.account)).toEqual([
      'imap-tls',
      'pop-starttls',
      'smtp-tls',
      'wrong-pw',
      'closed',
      'nohost',
      'silent',
      'tls-as-starttls',
      'untrusted',
      'pinned',
      'wrong-pin',
      'no-secret',
    ]);
    const by = Object.fromEntries(results.map((x) => [x.account, x]));
    for (const name of ['imap-tls', 'pop-starttls', 'smtp-tls', 'pinned']) expect(by[name]!.ok, name).toBe(true);
    expect(by['imap-tls']!.error).toBeNull();
    expect(Object.keys(by['imap-tls']!.stages[0]!)).toEqual(expect.arrayContaining(['name', 'ok', 'ms', 'detail']));
    const code = (name: string) => by[name]!.error?.code;
    expect(code('wrong-pw')).toBe('EAUTH');
    expect(by['wrong-pw']!.error!.hint).toMatch(/server offers: PLAIN LOGIN/);
    expect(code('closed')).toBe('EUNREACHABLE');
    expect(code('nohost')).toBe('EUNREACHABLE');
    expect(code('silent')).toBe('ETIMEDOUT');
    expect(code('tls-as-starttls')).toBe('EPROTOCOL');
    expect(by['tls-as-starttls']!.error!.hint).toContain('--security tls');
    expect(code('untrusted')).toBe('ETLS');
    expect(by['untrusted']!.error!.hint).toContain(`--fingerprint ${smtp.fingerprint}`);
    expect(code('wrong-pin')).toBe('ETLS');
    expect(code('no-secret')).toBe('ESECRET');
    expect(r.code).toBe(77); // wrong-pw is the first failing account in output order
    expect(r.stderr.trim().split('\n').every((l) => l.startsWith('debug log of '))).toBe(true);
    noPassword(r.stdout, r.stderr);
  });

  it.each([
    ['wrong-pw', 77],
    ['closed', 69],
    ['nohost', 69],
    ['silent', 75],
    ['untrusted', 76],
    ['wrong-pin', 76],
    ['no-secret', 78],
    ['no-such-account', 66],
  ])('%s exits %i', async (name, exit) => {
    const r = await runMailbox(['test', name, '--timeout', '2'], { home, env: { ...ENV, WRONG_PW: 'not-it' } });
    expect(r.code).toBe(exit);
    if (name !== 'no-such-account') expect(r.stdout).toMatch(new RegExp(`${name}: FAILED at \\w+: E[A-Z]+ \\(exit ${exit}\\)`));
    noPassword(r.stdout, r.stderr);
  });

  it('--send-to sends a real message through the SMTP account and shows the reply', async () => {
    const r = await runMailbox(['test', 'smtp-tls', '--send-to', 'bob@example.test'], { home, env: ENV });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✓ send +\d+ ms {2}sent from alice@example\.test to bob@example\.test: 250/);
    const [message] = await smtp.waitForMessages(1);
    expect(message!.to).toEqual(['bob@example.test']);
  });

  it('rejects a bad --timeout and --send-to without an SMTP account', async () => {
    const bad = await runMailbox(['test', 'imap-tls', '--timeout', 'soon'], { home, env: ENV });
    expect(bad.code).toBe(65);
    expect(bad.stderr).toContain('timeout');
    const noSmtp = await runMailbox(['test', 'imap-tls', '--send-to', 'bob@example.test'], { home, env: ENV });
    expect(noSmtp.code).toBe(64);
  });

  it('debug accounts leave a 0600 log of the exchange, with no password in it or anywhere else', async () => {
    const logs = path.join(home, 'state', 'logs');
    const imapLog = fs.readFileSync(path.join(logs, 'imap-tls.log'), 'utf8');
    expect(imapLog).toMatch(/C P\d+ AUTHENTICATE PLAIN <redacted>/);
    expect(imapLog).toMatch(/S \* OK/);
    expect(fs.statSync(path.join(logs, 'smtp-tls.log')).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(path.join(logs, 'pop-starttls.log'))).toBe(false);
    noPassword(readTree(home));
  });
});

describe('mailbox test with the keychain', () => {
  let ss: SecretService;
  beforeAll(async () => {
    ss = await startSecretService();
  });
  afterAll(async () => {
    await ss?.stop();
  });

  it('a keychain entry that is missing is a configuration problem (78) with a hint', async () => {
    const { home: kHome, cleanup: kCleanup } = tmpHome();
    try {
      writeConfig(kHome, [account('kc', 'imap', dovecot.imapsPort, 'tls', { folder: 'INBOX', secret: { kind: 'keychain', service: 'mailbox', key: 'kc' } })]);
      const r = await runMailbox(['test', 'kc', '--json'], { home: kHome, env: { ...ss.env } });
      expect(r.code).toBe(78);
      const [result] = JSON.parse(r.stdout) as JsonResult[];
      expect(result!.error!.code).toBe('ESECRET');
      expect(result!.stages.at(-1)!.name).toBe('login');
      expect(result!.error!.hint).toContain('mailbox edit kc');
    } finally {
      kCleanup();
    }
  });
});
