// connectionTls() as the libraries use it (imapflow, nodemailer) and our own verifyPeer(), against
// real servers: a CA-signed Dovecot, a self-signed Dovecot, a self-signed SMTP server.
// The point: a right pin passes and a wrong pin FAILS, for implicit TLS and STARTTLS, also when the
// server's certificate is self-signed (where checkServerIdentity alone would never run).
import type tls from 'node:tls';
import { ImapFlow } from 'imapflow';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account } from '../../src/core/account.js';
import { hintText } from '../../src/cli/hints.js';
import { MailboxError } from '../../src/core/errors.js';
import { connectPop3 } from '../../src/protocols/pop3/connect.js';
import { describeCertificate } from '../../src/protocols/net/certificate.js';
import { connectionTls } from '../../src/protocols/net/library-tls.js';
import type { TlsAccount } from '../../src/protocols/net/trust.js';
import { fetchPeerCertificate } from '../../src/protocols/net/certificate-fetch.js';
import { makeCerts, startDovecot, startSmtp, type Dovecot, type SmtpServer, type TestCerts } from '../harness/index.js';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';

let dovecot: Dovecot;
let selfSignedDovecot: Dovecot;
let smtp: SmtpServer;
let certs: TestCerts;
let certDir: string;

const WRONG_PIN = Array(32).fill('AB').join(':');

function tlsAccount(type: Account['type'], port: number, security: Account['security'], trust: Account['tls']): TlsAccount {
  return { name: 't', type, host: '127.0.0.1', port, security, tls: trust };
}

async function imapLogin(port: number, security: 'tls' | 'starttls', options: tls.ConnectionOptions): Promise<void> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port,
    secure: security === 'tls',
    doSTARTTLS: security === 'starttls' ? true : undefined,
    auth: { user: 'alice', pass: 'alice-secret' },
    tls: options,
    logger: false,
    connectionTimeout: 5000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.logout();
  } finally {
    client.close();
  }
}

function smtpConnect(port: number, security: 'tls' | 'starttls', options: tls.ConnectionOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const conn = new SMTPConnection({ host: '127.0.0.1', port, secure: security === 'tls', requireTLS: security === 'starttls', tls: options, connectionTimeout: 5000 });
    conn.once('error', reject);
    conn.connect(() => {
      conn.quit();
      resolve();
    });
  });
}

beforeAll(async () => {
  certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mbx-tls-'));
  certs = await makeCerts(certDir);
  // Servers presenting the self-signed certificate (no CA anybody trusts).
  const selfSigned: TestCerts = { ...certs, chainFile: certs.selfSigned.certFile, keyFile: certs.selfSigned.keyFile, certFile: certs.selfSigned.certFile };
  [dovecot, selfSignedDovecot, smtp] = await Promise.all([startDovecot(), startDovecot({ certs: selfSigned }), startSmtp({ certs: selfSigned })]);
});
afterAll(async () => {
  await Promise.all([dovecot?.stop(), selfSignedDovecot?.stop(), smtp?.stop()]);
  fs.rmSync(certDir, { recursive: true, force: true });
});

describe('connectionTls for imapflow and nodemailer', () => {
  it('system trust rejects the test CA; the account CA file makes it pass', async () => {
    const system = await connectionTls(tlsAccount('imap', dovecot.imapsPort, 'tls', {}));
    await expect(imapLogin(dovecot.imapsPort, 'tls', system)).rejects.toThrow();
    const withCa = await connectionTls(tlsAccount('imap', dovecot.imapsPort, 'tls', { ca: dovecot.caFile }));
    await imapLogin(dovecot.imapsPort, 'tls', withCa);
    await imapLogin(dovecot.imapPort, 'starttls', withCa);
  });

  it('a missing CA file is a configuration error naming the file', async () => {
    const err = await connectionTls(tlsAccount('imap', dovecot.imapsPort, 'tls', { ca: '/nonexistent/ca.pem' })).catch((e: unknown) => e);
    expect((err as MailboxError).code).toBe('ECONFIG');
    expect((err as MailboxError).message).toContain('/nonexistent/ca.pem');
  });

  for (const security of ['tls', 'starttls'] as const) {
    it(`IMAP ${security}, self-signed server: the right pin passes, a wrong pin fails`, async () => {
      const port = security === 'tls' ? selfSignedDovecot.imapsPort : selfSignedDovecot.imapPort;
      const pin = certs.selfSigned.fingerprint;
      await expect(imapLogin(port, security, await connectionTls(tlsAccount('imap', port, security, {})))).rejects.toThrow();
      await imapLogin(port, security, await connectionTls(tlsAccount('imap', port, security, { fingerprint: pin })));
      const err = await connectionTls(tlsAccount('imap', port, security, { fingerprint: WRONG_PIN })).catch((e: unknown) => e);
      expect((err as MailboxError).code).toBe('ETLS');
      expect((err as MailboxError).message).toContain(pin);
    });

    it(`SMTP ${security}, self-signed server: the right pin passes, a wrong pin fails`, async () => {
      const port = security === 'tls' ? smtp.smtpsPort : smtp.smtpPort;
      const pin = certs.selfSigned.fingerprint;
      await expect(smtpConnect(port, security, await connectionTls(tlsAccount('smtp', port, security, {})))).rejects.toThrow();
      await smtpConnect(port, security, await connectionTls(tlsAccount('smtp', port, security, { fingerprint: pin })));
      await expect(connectionTls(tlsAccount('smtp', port, security, { fingerprint: WRONG_PIN }))).rejects.toMatchObject({ code: 'ETLS' });
    });

    it(`the library itself refuses a server whose certificate changed after the pin check (${security})`, async () => {
      // Options pinned to the CA-signed Dovecot's certificate, used against the self-signed one.
      const other = tlsAccount('imap', security === 'tls' ? dovecot.imapsPort : dovecot.imapPort, security, { fingerprint: dovecot.fingerprint });
      const fetched = await fetchPeerCertificate(other, { trust: 'fingerprint', options: { rejectUnauthorized: false }, pin: dovecot.fingerprint }, 5000);
      const port = security === 'tls' ? selfSignedDovecot.imapsPort : selfSignedDovecot.imapPort;
      const options = await connectionTls(tlsAccount('imap', port, security, { fingerprint: dovecot.fingerprint }), {
        fetchPeerCertificate: async () => fetched,
      });
      await expect(imapLogin(port, security, options)).rejects.toThrow();
      // ...and the same options work where that certificate really is.
      await imapLogin(other.port, security, options);
    });
  }

  it('pinning the CA (an issuer in the presented chain) also works', async () => {
    const caPin = new (await import('node:crypto')).X509Certificate(fs.readFileSync(dovecot.caFile)).fingerprint256;
    await imapLogin(dovecot.imapsPort, 'tls', await connectionTls(tlsAccount('imap', dovecot.imapsPort, 'tls', { fingerprint: caPin })));
  });

  it('insecure connects to anything', async () => {
    await imapLogin(selfSignedDovecot.imapsPort, 'tls', await connectionTls(tlsAccount('imap', selfSignedDovecot.imapsPort, 'tls', { insecure: true })));
  });
});

describe('our own sockets (POP3 client) judge the peer before sending anything', () => {
  const pop = (port: number, security: 'tls' | 'starttls', trust: Account['tls']): Account => ({
    ...tlsAccount('pop3', port, security, trust),
    auth: 'password',
    user: 'alice',
    active: true,
    debug: false,
  });

  for (const security of ['tls', 'starttls'] as const) {
    it(`POP3 ${security}: pin right passes, pin wrong and no trust fail with ETLS and a hint`, async () => {
      const port = security === 'tls' ? selfSignedDovecot.pop3sPort : selfSignedDovecot.pop3Port;
      const lines: string[] = [];
      const ok = await connectPop3(pop(port, security, { fingerprint: certs.selfSigned.fingerprint }), { secret: 'alice-secret' });
      await ok.quit();
      const wrong = await connectPop3(pop(port, security, { fingerprint: WRONG_PIN }), { secret: 'alice-secret', tap: (d, l) => lines.push(`${d} ${l}`) }).catch(
        (e: unknown) => e,
      );
      expect((wrong as MailboxError).code).toBe('ETLS');
      expect((wrong as MailboxError).exitCode).toBe(76);
      expect(lines.some((l) => l.includes('alice'))).toBe(false); // nothing sent after the handshake
      const untrusted = await connectPop3(pop(port, security, {}), { secret: 'alice-secret' }).catch((e: unknown) => e);
      expect((untrusted as MailboxError).code).toBe('ETLS');
      expect(hintText(untrusted as MailboxError)).toContain(`mailbox edit t --fingerprint ${certs.selfSigned.fingerprint}`);
      expect(hintText(untrusted as MailboxError)).toContain('mailbox edit t --ca FILE');
    });
  }
});

describe('describeCertificate', () => {
  it('reports subject, issuer, expiry, fingerprint and self-signedness', async () => {
    const account = tlsAccount('imap', selfSignedDovecot.imapsPort, 'tls', {});
    const cert = await fetchPeerCertificate(account, { trust: 'insecure', options: { rejectUnauthorized: false } }, 5000);
    const info = describeCertificate(cert, new Date());
    expect(info.fingerprint256).toBe(certs.selfSigned.fingerprint);
    expect(info.subject).toContain('CN=localhost');
    expect(info.selfSigned).toBe(true);
    expect(info.expiresInDays).toBeGreaterThan(3000);
    const chained = describeCertificate(await fetchPeerCertificate(tlsAccount('imap', dovecot.imapsPort, 'tls', {}), { trust: 'insecure', options: { rejectUnauthorized: false } }, 5000));
    expect(chained.selfSigned).toBe(false);
    expect(chained.issuer).toContain('mailbox test CA');
  });
});
