// How odd server replies and TLS failures become MailboxErrors: exit codes, words, and no secret.
import { describe, expect, it } from 'vitest';
import { networkFailure, redactSecret } from '../../src/protocols/errors.js';
import { CollectSink, parseStatus, Pop3ParseError } from '../../src/protocols/pop3/parser.js';
import { imapTemporary, ServerReplyError } from '../../src/protocols/net/replies.js';
import { explainTrustFailure } from '../../src/protocols/net/trust.js';

const smtp = { name: 'out', type: 'smtp' as const, host: 'mx.example', port: 587, security: 'starttls' as const };
const tlsError = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('server refusals', () => {
  it.each([
    [new ServerReplyError('greeting', '421 4.3.2 busy', { greeting: true, temporary: true }), 'ETEMPFAIL', 75],
    [new ServerReplyError('greeting', '554 no service', { greeting: true }), 'EUNREACHABLE', 69],
    [new ServerReplyError('EHLO', '421 closing', { temporary: true }), 'ETEMPFAIL', 75],
    [new ServerReplyError('EHLO', '550 go away'), 'EPROTOCOL', 76],
    [new ServerReplyError('STARTTLS', '502 no'), 'ETLS', 76],
    [new ServerReplyError('LOGIN', '* BYE [UNAVAILABLE] later', { bye: true, temporary: true }), 'ETEMPFAIL', 75],
    [new ServerReplyError('LOGIN', '* BYE shutting down', { bye: true }), 'EPROTOCOL', 76],
  ])('%s -> %s', (err, code, exit) => {
    const mapped = networkFailure(err, smtp, 'capabilities');
    expect(mapped.code).toBe(code);
    expect(mapped.exitCode).toBe(exit);
    expect(mapped.message).toContain(err.response);
    expect(mapped.message).toContain('account out');
  });

  it('IMAP response codes that mean "not now" (RFC 5530)', () => {
    expect(imapTemporary('* BYE [UNAVAILABLE] maintenance')).toBe(true);
    expect(imapTemporary('P1 NO [INUSE] locked')).toBe(true);
    expect(imapTemporary('P1 NO [AUTHENTICATIONFAILED] no')).toBe(false);
  });
});

describe('TLS failures in words', () => {
  it('a server stuck on TLS 1.0/1.1 says TLS 1.2 is required, without suggesting another port', () => {
    for (const code of ['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'ERR_SSL_UNSUPPORTED_PROTOCOL']) {
      const err = networkFailure(tlsError(code), smtp, 'tls');
      expect(err.code).toBe('ETLS');
      expect(err.hint).toContain('TLS 1.2 or newer');
      expect(err.hint).not.toContain('--security');
    }
  });

  it('no shared cipher is named as such', () => {
    expect(networkFailure(tlsError('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE'), smtp, 'tls').message).toMatch(/no cipher suite/);
  });

  it('explains OpenSSL reason codes and keeps the code', () => {
    const cert = { subjectaltname: 'DNS:a.example, DNS:b.example', valid_to: 'Jan  1 00:00:00 2020 GMT', valid_from: 'Jan  1 00:00:00 2019 GMT', subject: { CN: 'a.example' } };
    const c = cert as unknown as Parameters<typeof explainTrustFailure>[1];
    expect(explainTrustFailure('ERR_TLS_CERT_ALTNAME_INVALID', c, 'mx.example')).toBe(
      'it is issued for DNS:a.example, DNS:b.example, not for mx.example (ERR_TLS_CERT_ALTNAME_INVALID)',
    );
    expect(explainTrustFailure('CERT_HAS_EXPIRED', c, 'x')).toBe('it expired on 2020-01-01 (CERT_HAS_EXPIRED)');
    expect(explainTrustFailure('SOMETHING_NEW', c, 'x')).toBe('SOMETHING_NEW');
  });
});

describe('secrets in server replies', () => {
  it('every form of the secret is replaced, the rest kept', () => {
    const secret = 'hünter2"x';
    const payload = Buffer.from(`\0ann\0${secret}`).toString('base64');
    const reply = `-ERR bad ${secret} / ${payload} / ${Buffer.from(secret).toString('base64')}`;
    const out = redactSecret(reply, secret, 'ann');
    expect(out).toBe('-ERR bad <redacted> / <redacted> / <redacted>');
    expect(redactSecret('nothing here', secret, 'ann')).toBe('nothing here');
    expect(redactSecret('x', undefined)).toBe('x');
  });
});

describe('POP3 parsing limits and leniency', () => {
  it('status indicators in any case; anything else is not POP3', () => {
    expect(parseStatus('+ok fine')).toMatchObject({ ok: true, text: 'fine' });
    expect(parseStatus('-Err [IN-USE] x')).toMatchObject({ ok: false, text: '[IN-USE] x' });
    expect(parseStatus('+OK')).toMatchObject({ ok: true, text: '' });
    expect(() => parseStatus('* OK imap')).toThrow(Pop3ParseError);
  });

  it('a collected multi-line reply is capped', () => {
    const sink = new CollectSink(10);
    sink.write(Buffer.from('12345'));
    expect(() => sink.write(Buffer.from('678901'))).toThrow(/longer than 10 bytes/);
  });
});
