// TLS failures a real deployment produces, from a scripted TLS server: only TLS 1.0/1.1, a
// certificate for another host name, an expired certificate, a handshake cut off, and a STARTTLS
// reply with injected plaintext behind it. Each: a clear MailboxError (76) with a hint that fits,
// and nothing (above all no password) sent over an untrusted connection.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account, AccountType } from '../../src/core/account.js';
import { connectPop3 } from '../../src/protocols/pop3/connect.js';
import { makeCerts, type TestCerts } from '../harness/certs.js';
import { makeOddCerts, type OddCert, type OddCerts } from '../harness/odd-certs.js';
import { serveCommands, type Script, type ScriptConn, type ScriptedServer, type ScriptedServerOptions } from '../harness/scripted-server.js';
import { expectFailure, expectProbeFailure, expectProbeOk, probe, scriptedAccount, scriptedServers, SECRET } from '../helpers/robustness.js';

const serve = scriptedServers();
let dir: string;
let certs: TestCerts;
let odd: OddCerts;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailbox-robust-tls-'));
  certs = await makeCerts(dir);
  odd = await makeOddCerts(certs);
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function tlsOptions(cert?: OddCert, extra: Partial<NonNullable<ScriptedServerOptions['tls']>> = {}): ScriptedServerOptions['tls'] {
  return {
    cert: fs.readFileSync(cert?.certFile ?? certs.chainFile),
    key: fs.readFileSync(cert?.keyFile ?? certs.keyFile),
    ...extra,
  };
}

function account(srv: ScriptedServer, type: AccountType, over: Partial<Account> = {}): Account {
  return scriptedAccount(srv, type, { security: 'tls', tls: { ca: certs.caFile }, ...over });
}

/** A greeting and then whatever: the handshake is what these tests are about. */
const greetImap: Script = async (c) => {
  c.line('* OK [CAPABILITY IMAP4rev1] hi');
  await c.untilClosed();
};

const pop3AfterTls = async (c: ScriptConn) => {
  await serveCommands(c, {
    CAPA: () => c.write('+OK\r\nUSER\r\nUIDL\r\n.\r\n'),
    USER: () => c.line('+OK'),
    PASS: () => c.line('+OK'),
    STAT: () => c.line('+OK 0 0'),
    QUIT: () => (c.line('+OK'), 'stop'),
  });
};

/** POP3 with STLS offered and accepted. */
const pop3Stls: Script = async (c) => {
  c.line('+OK');
  await c.expect(/^CAPA$/);
  c.write('+OK\r\nSTLS\r\nUSER\r\n.\r\n');
  await c.expect(/^STLS$/);
  c.line('+OK begin TLS');
  await c.startTls();
  await pop3AfterTls(c);
};

describe('TLS handshake failures', () => {
  it('a server that speaks only TLS 1.0/1.1: 76, and the hint says TLS 1.2 is required', async () => {
    const srv = await serve(greetImap, {
      implicitTls: true,
      tls: tlsOptions(undefined, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
    });
    const err = expectProbeFailure(await probe(account(srv, 'imap')), 76, 'tls');
    expect(err.code).toBe('ETLS');
    expect(err.message).toMatch(/TLS older than TLS 1\.2/);
    expect(err.hint).toMatch(/TLS 1\.2 or newer/);
    // The same through the POP3 client.
    const pop = await serve(pop3AfterTls, { implicitTls: true, tls: tlsOptions(undefined, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }) });
    expect((await expectFailure(connectPop3(account(pop, 'pop3'), { secret: SECRET }))).hint).toMatch(/TLS 1\.2 or newer/);
  });

  it('a certificate for another host name: 76, the message names the names it is for, the hint says what to do', async () => {
    const srv = await serve(greetImap, { implicitTls: true, tls: tlsOptions(odd.wrongHost) });
    const err = expectProbeFailure(await probe(account(srv, 'imap')), 76, 'tls');
    expect(err.message).toContain('it is issued for DNS:mail.other.example, not for 127.0.0.1');
    expect(err.hint).toMatch(/host name listed in the certificate/);
    expect(srv.received()).toEqual([]);
  });

  it('an expired certificate: 76 ETLS with an expiry hint; the POP3 client refuses before USER', async () => {
    const srv = await serve(greetImap, { implicitTls: true, tls: tlsOptions(odd.expired) });
    const err = expectProbeFailure(await probe(account(srv, 'imap')), 76, 'tls');
    expect(err.code).toBe('ETLS');
    expect(err.message).toMatch(/it expired on \d{4}-\d\d-\d\d \(CERT_HAS_EXPIRED\)/);
    expect(err.hint).toMatch(/expired/);
    const pop = await serve(
      async (c) => {
        c.line('+OK');
        await pop3AfterTls(c);
      },
      { implicitTls: true, tls: tlsOptions(odd.expired) },
    );
    const popErr = await expectFailure(connectPop3(account(pop, 'pop3'), { secret: SECRET }));
    expect(popErr.code).toBe('ETLS');
    expect(popErr.hint).toMatch(/expired/);
    expect(pop.received()).toEqual([]);
  });

  it('the server drops the connection in the middle of the handshake: 76, no hang', async () => {
    const srv = await serve(async (c) => {
      await new Promise((r) => setTimeout(r, 20)); // let the ClientHello arrive
      c.write(Buffer.from([0x16, 0x03, 0x03, 0x00, 0x40, 0x02, 0x00])); // a truncated ServerHello
      c.destroy();
    });
    const err = expectProbeFailure(await probe(account(srv, 'smtp')), 76, 'tls');
    expect(err.code).toBe('ETLS');
  });
});

describe('STARTTLS', () => {
  it('plaintext injected behind the "220 go ahead" is discarded (RFC 3207 §6): the probe reads only what came over TLS', async () => {
    const srv = await serve(
      async (c) => {
        c.line('220 hi');
        await c.expect(/^EHLO /);
        c.write('250-hi\r\n250 STARTTLS\r\n');
        await c.expect(/^STARTTLS$/);
        c.write('220 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n');
        await c.startTls();
        await c.expect(/^EHLO /);
        c.write('250-hi over TLS\r\n250 AUTH LOGIN\r\n');
        await c.expect(/^AUTH LOGIN$/);
        c.line('535 no');
        await c.untilClosed();
      },
      { tls: tlsOptions() },
    );
    const result = await probe(account(srv, 'smtp', { security: 'starttls', port: srv.port }));
    expect(result.stages.find((s) => s.name === 'capabilities')!.detail).toContain('will use LOGIN');
    expectProbeFailure(result, 77, 'login');
    expect(srv.errors).toEqual([]);
  });

  it('POP3 STLS to a server whose certificate is for another host: ETLS before any credential is sent', async () => {
    const srv = await serve(pop3Stls, { tls: tlsOptions(odd.wrongHost) });
    const err = await expectFailure(connectPop3(account(srv, 'pop3', { security: 'starttls' }), { secret: SECRET }));
    expect(err.code).toBe('ETLS');
    expect(err.exitCode).toBe(76);
    expect(srv.received()).toEqual(['CAPA', 'STLS']);
  });

  it('the same server trusted by fingerprint: the STLS session works', async () => {
    const srv = await serve(pop3Stls, { tls: tlsOptions(odd.wrongHost) });
    const { X509Certificate } = await import('node:crypto');
    const fingerprint = new X509Certificate(fs.readFileSync(odd.wrongHost.certFile)).fingerprint256;
    const result = expectProbeOk(await probe(account(srv, 'pop3', { security: 'starttls', tls: { fingerprint } })));
    expect(result.stages.find((s) => s.name === 'tls')!.detail).toContain('verified against the pinned fingerprint');
  });
});
