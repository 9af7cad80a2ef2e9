// A green `mailbox test` proves that `mailbox run` can log in: for each protocol, an account that
// passes the probe also logs in through openIncoming/openOutgoing (imapflow, our POP3 client,
// nodemailer), with the same mechanism, against the harness's Dovecot and SMTP server and against
// scripted servers that offer only LOGIN. And the regressions of issue 10 item 11.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account, AccountType, Security } from '../../src/core/account.js';
import type { MailboxError } from '../../src/core/errors.js';
import { openDebugLog } from '../../src/protocols/debug-log.js';
import { openIncoming, openOutgoing } from '../../src/protocols/open.js';
import { probeAccount, type ProbeResult } from '../../src/protocols/probe/index.js';
import { smtpAccountFailure } from '../../src/protocols/smtp/failures.js';
import { startDovecot, startSmtp, USERS, type Dovecot, type SmtpServer } from '../harness/index.js';
import { imapLoginServer, pop3LoginServer, smtpLoginServer, type LoginScript } from '../harness/login-servers.js';
import { CAROL, harnessAccount } from '../helpers/harness-accounts.js';
import { serveCommands } from '../harness/scripted-server.js';
import { expectFailure, expectProbeFailure, expectProbeOk, scriptedAccount, scriptedServers, SECRET } from '../helpers/robustness.js';

const serve = scriptedServers();
let dovecot: Dovecot;
let smtp: SmtpServer;
let loginOnlySmtp: SmtpServer;
let dir: string;


beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mbx-login-'));
  [dovecot, smtp, loginOnlySmtp] = await Promise.all([startDovecot(), startSmtp(), startSmtp({ authMethods: ['LOGIN'] })]);
});
afterAll(async () => {
  await Promise.all([dovecot?.stop(), smtp?.stop(), loginOnlySmtp?.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

function harness(type: AccountType, security: Security, over: Partial<Account> = {}): Account {
  return harnessAccount({ dovecot, smtp }, type, security, over);
}

function probe(account: Account, secret: string): Promise<ProbeResult> {
  return probeAccount(account, { secret: async () => secret, timeoutMs: 5000 });
}

function loginMechanism(result: ProbeResult): unknown {
  return result.stages.find((s) => s.name === 'login')?.data?.mechanism;
}

/** Logs in through the adapter `run` uses (one read or one send), with a debug log; returns the log. */
async function logInAsRun(account: Account, secret: string): Promise<string> {
  const file = path.join(dir, `${account.name}-${Math.random().toString(36).slice(2)}.log`);
  const debug = openDebugLog(file, { protocol: account.type, secrets: [secret], user: account.user, account: account.name });
  try {
    if (account.type === 'smtp') {
      const out = await openOutgoing(account, { secret, debug, timeoutMs: 5000 });
      try {
        const raw = Buffer.from(`From: <${CAROL}>\r\nTo: <bob@example.test>\r\nSubject: as run\r\n\r\nbody\r\n`);
        await out.send({ size: raw.length, content: async () => raw }, { from: CAROL, to: ['bob@example.test'] });
      } finally {
        await out.close();
      }
    } else {
      const incoming = await openIncoming(account, { secret, debug, timeoutMs: 5000 });
      await incoming.status();
      await incoming.close();
    }
  } finally {
    debug.close();
  }
  return fs.readFileSync(file, 'utf8');
}

/** The first login command a debug log shows the client sending: "AUTHENTICATE PLAIN", "AUTH LOGIN", "LOGIN", "USER". */
function firstLoginCommand(log: string, type: AccountType): string | undefined {
  for (const line of log.split('\n')) {
    const sent = / C (.*)$/.exec(line);
    if (!sent) continue;
    const words = sent[1]!.split(' ');
    if (type === 'imap') words.shift(); // the tag
    const verb = words[0]?.toUpperCase();
    if (verb === 'AUTHENTICATE' || verb === 'AUTH') return `${verb} ${words[1]?.toUpperCase()}`;
    if (verb === 'LOGIN' || verb === 'USER') return verb;
  }
  return undefined;
}

/** The probe's name of a mechanism as the command that carries it on the wire. */
function wireCommand(type: AccountType, mechanism: string): string {
  if (type === 'smtp') return `AUTH ${mechanism}`;
  return mechanism === 'USER/PASS' ? 'USER' : mechanism;
}

/** How `run` fails to log in: the adapter's error as the runner reports it. */
async function runFailure(account: Account, secret: string): Promise<MailboxError> {
  const err = await logInAsRun(account, secret).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `${account.name}: run logged in`).toBeDefined();
  return account.type === 'smtp' ? smtpAccountFailure(err, account) : (err as MailboxError);
}

describe('against the harness servers: the probe passes and run logs in with the same mechanism', () => {
  for (const type of ['imap', 'pop3', 'smtp'] as const) {
    for (const security of ['tls', 'starttls', 'none'] as const) {
      it(`${type} ${security}, the password with space, quote, @ and UTF-8`, async () => {
        const account = harness(type, security);
        const secret = USERS[CAROL]!;
        const result = expectProbeOk(await probe(account, secret));
        const mechanism = String(loginMechanism(result));
        const log = await logInAsRun(account, secret);
        expect(firstLoginCommand(log, type)).toBe(wireCommand(type, mechanism));
        expect(log).not.toContain(secret);
      });
    }
  }

  it('smtp: a server that offers only AUTH LOGIN (smtp-server): both use LOGIN', async () => {
    const account = harness('smtp', 'tls', { port: loginOnlySmtp.smtpsPort, tls: { ca: loginOnlySmtp.caFile } });
    const result = expectProbeOk(await probe(account, USERS[CAROL]!));
    expect(loginMechanism(result)).toBe('LOGIN');
    expect(firstLoginCommand(await logInAsRun(account, USERS[CAROL]!), 'smtp')).toBe('AUTH LOGIN');
  });

  it('a wrong password fails both, with the same code and message', async () => {
    for (const type of ['imap', 'pop3', 'smtp'] as const) {
      const account = harness(type, 'tls');
      const probed = expectProbeFailure(await probe(account, 'wrong'), 77, 'login');
      const run = await runFailure(account, 'wrong');
      expect({ code: run.code, message: run.message }, type).toEqual({ code: probed.code, message: probed.message });
    }
  });
});

describe('choosing the mechanism (issue 9): a challenge-response one first where the server and the implementation offer it, or the one the account insists on; the same in test and run', () => {
  it('by default: SCRAM-SHA-256 for POP3 (Dovecot), CRAM-MD5 for SMTP (the harness server has no SCRAM), PLAIN for IMAP (imapflow has neither)', async () => {
    for (const [type, expected] of [['pop3', 'AUTH SCRAM-SHA-256'], ['smtp', 'CRAM-MD5'], ['imap', 'AUTHENTICATE PLAIN']] as const) {
      const account = harness(type, 'tls');
      const result = expectProbeOk(await probe(account, USERS[CAROL]!));
      expect(loginMechanism(result), type).toBe(expected);
      expect(firstLoginCommand(await logInAsRun(account, USERS[CAROL]!), type), type).toBe(wireCommand(type, expected));
    }
  });

  it.each([
    ['imap', 'command', 'LOGIN'],
    ['imap', 'login', 'AUTHENTICATE LOGIN'],
    ['pop3', 'plain', 'AUTH PLAIN'],
    ['pop3', 'cram-md5', 'AUTH CRAM-MD5'],
    ['pop3', 'command', 'USER/PASS'],
    ['smtp', 'plain', 'PLAIN'],
    ['smtp', 'login', 'LOGIN'],
  ] as const)('%s insisting on %s: %s, both ways', async (type, authMechanism, expected) => {
    const account = harness(type, 'tls', { authMechanism });
    const result = expectProbeOk(await probe(account, USERS[CAROL]!));
    expect(loginMechanism(result)).toBe(expected);
    expect(firstLoginCommand(await logInAsRun(account, USERS[CAROL]!), type)).toBe(wireCommand(type, expected));
  });

  it('a mechanism the server does not offer: both fail with 77 and the same message', async () => {
    const account = harness('smtp', 'tls', { authMechanism: 'scram-sha-256' });
    const probed = expectProbeFailure(await probe(account, USERS[CAROL]!), 77, 'login');
    expect(probed.message).toContain('the mechanism the account insists on');
    const run = await runFailure(account, USERS[CAROL]!);
    expect({ code: run.code, message: run.message }).toEqual({ code: probed.code, message: probed.message });
  });

  it('SMTP SCRAM-SHA-256 through nodemailer as in the probe; a server that cannot prove it knows the password is refused both ways', async () => {
    const login: LoginScript = { user: 'alice', secret: SECRET, used: [] };
    const srv = await serve(smtpLoginServer(login, { offer: ['PLAIN', 'CRAM-MD5', 'SCRAM-SHA-256'] }));
    const account = scriptedAccount(srv, 'smtp', { from: 'alice@example.test' });
    expect(loginMechanism(expectProbeOk(await probe(account, SECRET)))).toBe('SCRAM-SHA-256');
    await logInAsRun(account, SECRET);
    expect(login.used).toEqual(['AUTH SCRAM-SHA-256', 'AUTH SCRAM-SHA-256']);
    expect(srv.errors).toEqual([]);
    const wrong = expectProbeFailure(await probe(account, 'not-it'), 77, 'login');
    expect(wrong.hint).toContain('log in with PLAIN');
    expect(wrong.fixes).toEqual([{ field: 'password' }, { field: 'authMechanism', value: 'plain' }]);

    const impostor = await serve(smtpLoginServer({ user: 'alice', secret: SECRET, used: [] }, { offer: ['SCRAM-SHA-256'], badSignature: true }));
    const fake = scriptedAccount(impostor, 'smtp', { from: 'alice@example.test' });
    const probed = expectProbeFailure(await probe(fake, SECRET), 77, 'login');
    expect(probed.message).toContain('without proving that it knows the password');
    expect((await runFailure(fake, SECRET)).message).toBe(probed.message);
  });
});

describe('scripted servers that offer only LOGIN: the probe passes and run logs in the same way', () => {
  const script = (): LoginScript => ({ user: 'alice', secret: SECRET, used: [] });

  it('IMAP with AUTH=LOGIN and LOGINDISABLED (issue 10 item 11): AUTHENTICATE LOGIN, not the LOGINDISABLED hint', async () => {
    const login = script();
    const srv = await serve(imapLoginServer(login, { caps: 'IMAP4rev1 AUTH=LOGIN LOGINDISABLED', accept: { sasl: ['LOGIN'] } }));
    const account = scriptedAccount(srv, 'imap');
    const result = expectProbeOk(await probe(account, SECRET));
    expect(loginMechanism(result)).toBe('AUTHENTICATE LOGIN');
    await logInAsRun(account, SECRET);
    expect(login.used).toEqual(['AUTHENTICATE LOGIN', 'AUTHENTICATE LOGIN']);
    expect(srv.errors).toEqual([]);
  });

  it('IMAP with the LOGIN command only (no AUTH=): LOGIN with literals for the UTF-8 password, both ways', async () => {
    const login = script();
    const srv = await serve(imapLoginServer(login, { caps: 'IMAP4rev1', accept: { command: true, sasl: [] } }));
    const account = scriptedAccount(srv, 'imap');
    expect(loginMechanism(expectProbeOk(await probe(account, SECRET)))).toBe('LOGIN');
    await logInAsRun(account, SECRET);
    expect(login.used).toEqual(['LOGIN', 'LOGIN']);
  });

  it('IMAP with a DOMAIN\\user login name: the LOGIN command, as imapflow does for Exchange, both ways', async () => {
    const login: LoginScript = { user: 'dom\\alice', secret: SECRET, used: [] };
    const srv = await serve(imapLoginServer(login, { caps: 'IMAP4rev1 AUTH=PLAIN', accept: { command: true, sasl: ['PLAIN'] } }));
    const account = scriptedAccount(srv, 'imap', { user: login.user });
    expect(loginMechanism(expectProbeOk(await probe(account, SECRET)))).toBe('LOGIN');
    await logInAsRun(account, SECRET);
    expect(login.used).toEqual(['LOGIN', 'LOGIN']);
  });

  it('IMAP with a DOMAIN\\user login name and LOGINDISABLED: imapflow alone would fail; told our choice it uses AUTHENTICATE PLAIN as the probe', async () => {
    const login: LoginScript = { user: 'dom\\alice', secret: SECRET, used: [] };
    const srv = await serve(imapLoginServer(login, { caps: 'IMAP4rev1 AUTH=PLAIN LOGINDISABLED', accept: { sasl: ['PLAIN'] } }));
    const account = scriptedAccount(srv, 'imap', { user: login.user });
    expect(loginMechanism(expectProbeOk(await probe(account, SECRET)))).toBe('AUTHENTICATE PLAIN');
    await logInAsRun(account, SECRET);
    expect(login.used).toEqual(['AUTHENTICATE PLAIN', 'AUTHENTICATE PLAIN']);
  });

  it('IMAP OAuth 2.0 with OAUTHBEARER and XOAUTH2 offered: both use OAUTHBEARER (imapflow\'s order)', async () => {
    const login = script();
    const srv = await serve(imapLoginServer(login, { caps: 'IMAP4rev1 AUTH=XOAUTH2 AUTH=OAUTHBEARER', accept: { sasl: ['XOAUTH2', 'OAUTHBEARER'] }, host: '127.0.0.1' }));
    const account = scriptedAccount(srv, 'imap', { auth: 'oauth2' });
    expect(loginMechanism(expectProbeOk(await probe(account, SECRET)))).toBe('OAUTHBEARER');
    await logInAsRun(account, SECRET);
    expect(login.used).toEqual(['AUTHENTICATE OAUTHBEARER', 'AUTHENTICATE OAUTHBEARER']);
  });

  it('POP3 with SASL LOGIN only and no USER (issue 10 item 11): AUTH LOGIN both ways', async () => {
    const login = script();
    const srv = await serve(pop3LoginServer(login, { capa: ['SASL LOGIN', 'UIDL'], accept: { sasl: ['LOGIN'] } }));
    const account = scriptedAccount(srv, 'pop3');
    expect(loginMechanism(expectProbeOk(await probe(account, SECRET)))).toBe('AUTH LOGIN');
    await logInAsRun(account, SECRET);
    expect(login.used).toEqual(['AUTH LOGIN', 'AUTH LOGIN']);
  });

  it('SMTP with AUTH LOGIN only: AUTH LOGIN both ways, through nodemailer', async () => {
    const login = script();
    const srv = await serve(smtpLoginServer(login, { offer: ['LOGIN'] }));
    const account = scriptedAccount(srv, 'smtp', { from: 'alice@example.test' });
    expect(loginMechanism(expectProbeOk(await probe(account, SECRET)))).toBe('LOGIN');
    await logInAsRun(account, SECRET);
    expect(login.used).toEqual(['AUTH LOGIN', 'AUTH LOGIN']);
  });

  it('SMTP offering no AUTH to a password account: both fail the same way (run no longer sends unauthenticated)', async () => {
    const login = script();
    const srv = await serve(smtpLoginServer(login, { offer: [] }));
    const account = scriptedAccount(srv, 'smtp', { from: 'alice@example.test' });
    const probed = expectProbeFailure(await probe(account, SECRET), 77, 'login');
    expect(await runFailure(account, SECRET)).toMatchObject({ code: 'EAUTH', message: probed.message });
  });
});

describe('a refused IMAP login fails at once, never at the deadline (issue 10 item 11)', () => {
  const cases: [string, string, (tag: string) => string][] = [
    ['NO to AUTHENTICATE before any continuation', 'IMAP4rev1 AUTH=PLAIN', (tag) => `${tag} NO [AUTHENTICATIONFAILED] not today`],
    ['NO whose text ends like a literal announcement', 'IMAP4rev1', (tag) => `${tag} NO [AUTHENTICATIONFAILED] you sent: LOGIN {5}`],
    ['untagged NO, then the tagged NO', 'IMAP4rev1 AUTH=LOGIN', (tag) => `* NO [ALERT] go away {3}\r\n${tag} NO no`],
  ];
  for (const [name, caps, refusal] of cases) {
    it(name, async () => {
      const srv = await serve(async (c) => {
        c.line(`* OK [CAPABILITY ${caps}] hi`);
        const command = await c.expect(/LOGIN|AUTHENTICATE/);
        c.write(`${refusal(command.split(' ')[0]!)}\r\n`);
        await c.untilClosed();
      });
      const started = Date.now();
      const err = expectProbeFailure(await probe(scriptedAccount(srv, 'imap'), SECRET), 77, 'login');
      expect(Date.now() - started).toBeLessThan(2500);
      expect(err.code).toBe('EAUTH');
    });
  }
});

describe('a server that quotes the password after the login: the adapters\' errors do not carry it', () => {
  it('IMAP: a NO to EXAMINE that repeats the LOGIN command', async () => {
    const echo = (tag: string) => `${tag} NO [CANNOT] you sent: LOGIN alice ${Buffer.from(SECRET).toString('latin1')} or ${Buffer.from(`\0alice\0${SECRET}`).toString('base64')}`;
    const login: LoginScript = { user: 'alice', secret: SECRET, used: [] };
    const srv = await serve(imapLoginServer(login, { caps: 'IMAP4rev1', accept: { command: true, sasl: [] }, answers: { EXAMINE: echo } }));
    const incoming = await openIncoming(scriptedAccount(srv, 'imap'), { secret: SECRET, timeoutMs: 5000 });
    const err = await expectFailure(incoming.list());
    expect(err.message).toContain('you sent: LOGIN alice <redacted> or <redacted>');
    incoming.abort();
  });

  it('POP3: an -ERR to STAT that repeats PASS', async () => {
    const srv = await serve(async (c) => {
      c.line('+OK hi');
      await serveCommands(c, {
        CAPA: () => c.line('-ERR'),
        USER: () => c.line('+OK'),
        PASS: () => c.line('+OK'),
        STAT: () => c.line(`-ERR [SYS/PERM] you sent PASS ${Buffer.from(SECRET).toString('latin1')}`),
      });
    });
    const incoming = await openIncoming(scriptedAccount(srv, 'pop3'), { secret: SECRET, timeoutMs: 5000 });
    const err = await expectFailure(incoming.status());
    expect(err.message).toContain('you sent PASS <redacted>');
    incoming.abort();
  });
});
