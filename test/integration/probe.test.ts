// The staged probe against real servers: every success path, every failure class and its hint.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account, AccountType, Security } from '../../src/core/account.js';
import { hintText } from '../../src/cli/hints.js';
import { MailboxError } from '../../src/core/errors.js';
import { openDebugLog } from '../../src/protocols/debug-log.js';
import { secretForms } from '../../src/protocols/redaction.js';
import { imapLogin } from '../../src/protocols/imap/login.js';
import type { ImapMechanism } from '../../src/protocols/imap/mechanism.js';
import { LineSession } from '../../src/protocols/net/line-session.js';
import { Peer } from '../../src/protocols/net/peer.js';
import { readGreeting } from '../../src/protocols/net/replies.js';
import { connectTcp } from '../../src/protocols/net/socket.js';
import { probeAccount, type ProbeResult } from '../../src/protocols/probe/index.js';
import { CAROL, harnessAccount } from '../helpers/harness-accounts.js';
import {
  closedPort,
  makeCerts,
  startDovecot,
  startSilentServer,
  startSmtp,
  type Dovecot,
  type PlainDovecot,
  type SilentServer,
  type SmtpServer,
  type TestCerts,
} from '../harness/index.js';

let dovecot: Dovecot;
let plainDovecot: PlainDovecot;
let smtp: SmtpServer;
let smtpNoTls: SmtpServer;
let selfSignedSmtp: SmtpServer;
let expiringSmtp: SmtpServer;
let silent: SilentServer;
let closed: number;
let certs: TestCerts;
let dir: string;

const CAROL_PW = 'p@ss w0rd"é';

const ports = (type: AccountType) => {
  const a = (security: Security) => account(type, security).port;
  return { tls: a('tls'), plain: a('none') };
};

function account(type: AccountType, security: Security, over: Partial<Account> = {}): Account {
  return harnessAccount({ dovecot, smtp }, type, security, over);
}

function probe(a: Account, secret = CAROL_PW, extra: Partial<Parameters<typeof probeAccount>[1]> = {}): Promise<ProbeResult> {
  return probeAccount(a, { secret: async () => secret, timeoutMs: 5000, ...extra });
}

function stageNames(r: ProbeResult): string[] {
  return r.stages.map((s) => s.name);
}

function failedStage(r: ProbeResult) {
  return r.stages.find((s) => !s.ok);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mbx-probe-'));
  certs = await makeCerts(path.join(dir, 'certs'));
  // A certificate that expires in 5 days, self-signed.
  await promisify(execFile)(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'short.key', '-out', 'short.pem', '-days', '5', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'],
    { cwd: dir },
  );
  const selfSigned: TestCerts = { ...certs, chainFile: certs.selfSigned.certFile, certFile: certs.selfSigned.certFile, keyFile: certs.selfSigned.keyFile };
  const short: TestCerts = { ...certs, chainFile: path.join(dir, 'short.pem'), certFile: path.join(dir, 'short.pem'), keyFile: path.join(dir, 'short.key') };
  [dovecot, plainDovecot, smtp, smtpNoTls, selfSignedSmtp, expiringSmtp, silent, closed] = await Promise.all([
    startDovecot(),
    startDovecot({ starttls: false }),
    startSmtp(),
    startSmtp({ noStarttls: true }),
    startSmtp({ certs: selfSigned }),
    startSmtp({ certs: short }),
    startSilentServer(),
    closedPort(),
  ]);
  await dovecot.deliver(CAROL, 'Subject: one\r\n\r\nbody\r\n');
});

afterAll(async () => {
  await Promise.all([dovecot, plainDovecot, smtp, smtpNoTls, selfSignedSmtp, expiringSmtp, silent].map((s) => s?.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('success paths', () => {
  for (const type of ['imap', 'pop3', 'smtp'] as const) {
    for (const security of ['tls', 'starttls', 'none'] as const) {
      it(`${type} ${security}`, async () => {
        const r = await probe(account(type, security));
        expect(r.error).toBeNull();
        expect(r.ok).toBe(true);
        expect(r.exitCode).toBe(0);
        const expected = ['resolve', 'connect', 'tls', 'greeting', 'capabilities', 'login', 'probe'];
        if (security === 'starttls') expected.splice(2, 2, 'greeting', 'tls');
        if (security === 'none') expected.splice(2, 1);
        expect(stageNames(r)).toEqual(expected);
        expect(r.stages.every((s) => s.ok && s.ms >= 0)).toBe(true);
        if (security !== 'none') {
          const tls = r.stages.find((s) => s.name === 'tls')!;
          expect(tls.detail).toMatch(/TLSv1\.[23]/);
          expect(tls.detail).toContain("verified against the account's CA file");
          expect(tls.data).toMatchObject({ verified: true, trust: 'ca', certificate: { issuer: 'CN=mailbox test CA' } });
        } else {
          expect(r.warnings.join(' ')).toMatch(/unencrypted connection/);
        }
        const detail = r.stages.find((s) => s.name === 'probe')!;
        if (type === 'imap') expect(detail.data).toMatchObject({ folder: 'INBOX', messages: 1, uidNext: 2 });
        if (type === 'pop3') expect(detail.data).toMatchObject({ messages: 1, uidl: 'yes' });
        if (type === 'smtp') expect(detail.data).toMatchObject({ sizeLimit: 10 * 1024 * 1024 });
        expect(r.stages.find((s) => s.name === 'login')!.detail).toContain(CAROL);
      });
    }
  }
});

describe('failures stop at the stage that failed, with a code and a hint', () => {
  for (const type of ['imap', 'pop3', 'smtp'] as const) {
    it(`${type}: wrong password is EAUTH (77), naming the user and the mechanisms offered`, async () => {
      const r = await probe(account(type, 'tls'), 'wrong password');
      expect(r.exitCode).toBe(77);
      expect(r.error!.code).toBe('EAUTH');
      expect(failedStage(r)!.name).toBe('login');
      expect(stageNames(r).at(-1)).toBe('login');
      expect(r.error!.message).toContain(CAROL);
      expect(r.error!.hint).toMatch(/PLAIN LOGIN/);
    });

    it(`${type}: the implicit-TLS port configured as starttls gets a clear hint, at once (issue 9: it took 5 s)`, async () => {
      const started = Date.now();
      const r = await probe(account(type, 'starttls', { port: ports(type).tls }), CAROL_PW, { timeoutMs: 15_000 });
      expect(Date.now() - started).toBeLessThan(1500);
      expect(r.ok).toBe(false);
      expect(failedStage(r)!.name).toBe('greeting');
      expect(r.error!.message).toContain('implicit-TLS port');
      expect(hintText(r.error!)).toContain(`mailbox edit ${type}-starttls --security tls`);
    });

    it(`${type}: the plain port configured as tls gets a clear hint`, async () => {
      const r = await probe(account(type, 'tls', { port: ports(type).plain }));
      expect(r.exitCode).toBe(76);
      expect(failedStage(r)!.name).toBe('tls');
      expect(hintText(r.error!)).toContain('--security starttls');
    });
  }

  it('closed port: EUNREACHABLE (69) at connect', async () => {
    const r = await probe(account('imap', 'tls', { port: closed }));
    expect(r.exitCode).toBe(69);
    expect(failedStage(r)!.name).toBe('connect');
    expect(r.error!.message).toContain('refused');
  });

  it('unknown host: EUNREACHABLE (69) at resolve', async () => {
    const r = await probe(account('smtp', 'tls', { host: 'no-such-host.invalid' }));
    expect(r.exitCode).toBe(69);
    expect(stageNames(r)).toEqual(['resolve']);
    expect(r.error!.message).toContain('no-such-host.invalid');
  });

  it('a listener that never greets: ETIMEDOUT (75) within the timeout', async () => {
    const r = await probe(account('pop3', 'none', { host: silent.host, port: silent.port }), CAROL_PW, { timeoutMs: 2000 });
    expect(r.exitCode).toBe(75);
    expect(failedStage(r)!.name).toBe('greeting');
  });

  it('self-signed certificate without trust: ETLS (76) with its fingerprint and --ca/--fingerprint hints', async () => {
    const r = await probe(account('smtp', 'tls', { port: selfSignedSmtp.smtpsPort, tls: {} }));
    expect(r.exitCode).toBe(76);
    expect(failedStage(r)!.name).toBe('tls');
    expect(failedStage(r)!.detail).toContain(certs.selfSigned.fingerprint);
    expect(r.error!.hint).not.toMatch(/--[a-z]/);
    expect(hintText(r.error!)).toContain(`mailbox edit smtp-tls --fingerprint ${certs.selfSigned.fingerprint}`);
    expect(hintText(r.error!)).toContain('mailbox edit smtp-tls --ca FILE');
  });

  it('self-signed certificate pinned by fingerprint passes; a wrong pin fails (tls and starttls)', async () => {
    for (const [security, port] of [
      ['tls', selfSignedSmtp.smtpsPort],
      ['starttls', selfSignedSmtp.smtpPort],
    ] as const) {
      const ok = await probe(account('smtp', security, { port, tls: { fingerprint: certs.selfSigned.fingerprint } }));
      expect(ok.error).toBeNull();
      expect(ok.stages.find((s) => s.name === 'tls')!.detail).toContain('verified against the pinned fingerprint');
      const wrong = await probe(account('smtp', security, { port, tls: { fingerprint: certs.fingerprint } }));
      expect(wrong.exitCode).toBe(76);
      expect(stageNames(wrong).at(-1)).toBe('tls');
    }
  });

  it('a CA file trusts the harness CA (--ca)', async () => {
    const r = await probe(account('pop3', 'starttls', { tls: { ca: dovecot.caFile } }));
    expect(r.ok).toBe(true);
    const untrusted = await probe(account('pop3', 'starttls', { tls: {} }));
    expect(untrusted.exitCode).toBe(76);
  });

  it('STARTTLS configured but not offered: ETLS (76), never continuing in plaintext', async () => {
    for (const a of [
      account('imap', 'starttls', { port: plainDovecot.imapPort }),
      account('pop3', 'starttls', { port: plainDovecot.pop3Port }),
      account('smtp', 'starttls', { port: smtpNoTls.smtpPort }),
    ]) {
      const r = await probe(a);
      expect(r.exitCode, a.name).toBe(76);
      expect(failedStage(r)!.name).toBe('tls');
      expect(r.error!.message).toMatch(/does not offer (STARTTLS|STLS)/);
      expect(stageNames(r)).not.toContain('login');
    }
  });

  it('the secret cannot be resolved: the login stage fails with its code (78)', async () => {
    const r = await probeAccount(account('imap', 'tls'), {
      secret: async () => {
        throw new MailboxError('ESECRET', 'account imap-tls: environment variable PW is not set');
      },
    });
    expect(r.exitCode).toBe(78);
    expect(failedStage(r)!.name).toBe('login');
  });

  it('a certificate expiring within 14 days is a warning', async () => {
    const r = await probe(account('smtp', 'tls', { port: expiringSmtp.smtpsPort, tls: { insecure: true } }));
    expect(r.ok).toBe(true);
    expect(r.warnings.join('\n')).toMatch(/expires on .* \(in [45] days\)/);
    expect(r.warnings.join('\n')).toMatch(/verification is off \(insecure\)/);
  });
});

describe('login variants', () => {
  it('IMAP: LOGIN (quoted, or literals for UTF-8), AUTHENTICATE PLAIN with and without SASL-IR, AUTHENTICATE LOGIN', async () => {
    const variants: [ImapMechanism, boolean][] = [
      ['LOGIN', false],
      ['AUTHENTICATE PLAIN', true],
      ['AUTHENTICATE PLAIN', false],
      ['AUTHENTICATE LOGIN', false],
    ];
    for (const [mechanism, saslIr] of variants) {
      for (const [user, secret] of [
        ['alice', 'alice-secret'],
        [CAROL, CAROL_PW],
      ] as const) {
        const peer = new Peer(account('imap', 'none'));
        const socket = await connectTcp(peer, '127.0.0.1');
        const lines: string[] = [];
        const session = new LineSession(socket, peer, { tap: (d, l) => lines.push(`${d} ${l}`) });
        try {
          await readGreeting(session, 'imap');
          if (user === CAROL) expect(await imapLogin(session, 'L1', mechanism, user, 'wrong', saslIr), mechanism).toMatch(/^L1 NO/);
          expect(await imapLogin(session, 'L2', mechanism, user, secret, saslIr), mechanism).toMatch(/^L2 OK/);
          expect(await imapLogin(session, 'L3', mechanism, user, secret, saslIr)).toMatch(/^L3 BAD|^L3 NO/); // already logged in
        } finally {
          session.close();
        }
        expect(lines.join('\n')).not.toContain(secret);
      }
    }
  });

  it('SMTP XOAUTH2 with a token; a wrong token is EAUTH', async () => {
    const oauth = account('smtp', 'tls', { auth: 'oauth2', user: 'alice' });
    const ok = await probe(oauth, 'tok-alice');
    expect(ok.error).toBeNull();
    expect(ok.stages.find((s) => s.name === 'login')!.detail).toContain('XOAUTH2');
    const bad = await probe(oauth, 'tok-bob');
    expect(bad.exitCode).toBe(77);
  });
});

describe('--send-to', () => {
  it('sends one real message and reports the server reply', async () => {
    const before = smtp.messages().length;
    const r = await probe(account('smtp', 'starttls', { from: CAROL }), CAROL_PW, { sendTo: 'bob@example.test' });
    expect(r.error).toBeNull();
    const send = r.stages.find((s) => s.name === 'send')!;
    expect(send.detail).toMatch(/250/);
    const messages = await smtp.waitForMessages(before + 1);
    const m = messages[before]!;
    expect(m).toMatchObject({ from: CAROL, to: ['bob@example.test'], user: CAROL, tls: true });
    expect(m.raw.toString()).toContain('Subject: mailbox test message from account smtp-starttls');
  });

  it('a refused recipient fails the send stage, named as such: 5xx is 65 (an address the server will not take), 4xx is 75', async () => {
    const rejected = await probe(account('smtp', 'tls', { from: CAROL }), CAROL_PW, { sendTo: 'reject@example.test' });
    expect(rejected.exitCode).toBe(65);
    expect(rejected.error!.message).toMatch(/the server refused the recipient reject@example\.test: 550 5\.1\.1/);
    const deferred = await probe(account('smtp', 'tls', { from: CAROL }), CAROL_PW, { sendTo: 'defer@example.test' });
    expect(deferred.exitCode).toBe(75);
    expect(deferred.error!.message).toMatch(/the server deferred the recipient defer@example\.test: 451/);
  });
});

describe('debug log', () => {
  it('records the exchange of each protocol with no form of the password in it', async () => {
    const file = path.join(dir, 'logs', 'probe.log');
    for (const type of ['imap', 'pop3', 'smtp'] as const) {
      for (const security of ['starttls', 'none'] as const) {
        const log = openDebugLog(file, { protocol: type, secrets: [], user: CAROL, account: type });
        const r = await probe(account(type, security), CAROL_PW, { debugLog: log });
        log.close();
        expect(r.ok).toBe(true);
      }
      // A failed login writes the attempt too.
      const log = openDebugLog(file, { protocol: type, secrets: [], user: CAROL, account: type });
      await probe(account(type, 'none'), 'wrong p@ss', { debugLog: log });
      log.close();
    }
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/AUTHENTICATE PLAIN <redacted>/);
    // POP3 and SMTP prefer a challenge-response mechanism (SCRAM-SHA-256 from Dovecot, CRAM-MD5 from the SMTP server).
    expect(text).toMatch(/C AUTH SCRAM-SHA-256 <redacted>\n.* S \+ <redacted>\n.* C <redacted>\n/);
    expect(text).not.toMatch(/S \+ [a-zA-Z0-9+/=]{8,}/); // SCRAM's salt, nonce and signature
    expect(text).toMatch(/C AUTH CRAM-MD5\n.* S 334 \S+\n.* C <redacted>\n/);
    expect(text).toMatch(/S \+OK/);
    expect(text).toMatch(/S 235/);
    for (const secret of [CAROL_PW, 'wrong p@ss']) {
      expect(secretForms(secret, CAROL).filter((f) => text.includes(f))).toEqual([]);
    }
  });
});
