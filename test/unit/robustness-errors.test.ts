// How odd server replies and TLS failures become MailboxErrors: exit codes, words, and no secret.
import { describe, expect, it } from 'vitest';
import { redactSecret } from '../../src/protocols/redaction.js';
import { Peer } from '../../src/protocols/net/peer.js';
import { imapTemporary } from '../../src/protocols/net/replies.js';
import { explainTrustFailure } from '../../src/protocols/net/trust.js';
import { CollectSink, parseStatus, Pop3ParseError } from '../../src/protocols/pop3/parser.js';

const smtp = { name: 'out', type: 'smtp' as const, host: 'mx.example', port: 587, security: 'starttls' as const };
const tlsError = (code: string, message = code) => Object.assign(new Error(message), { code });

function peer(stage: 'capabilities' | 'tls' = 'capabilities'): Peer {
  const p = new Peer(smtp);
  p.stage = stage;
  return p;
}

describe('server refusals', () => {
  it.each([
    ['421 greeting', peer().greetingRefused('421 4.3.2 busy', true), 'ETEMPFAIL', 75],
    ['554 greeting', peer().greetingRefused('554 no service', false), 'EUNREACHABLE', 69],
    ['EHLO 421', peer().refused('EHLO', '421 closing', true), 'ETEMPFAIL', 75],
    ['EHLO 550', peer().refused('EHLO', '550 go away', false), 'EPROTOCOL', 76],
    ['STARTTLS 502', peer().refused('STARTTLS', '502 no', false), 'ETLS', 76],
    ['BYE [UNAVAILABLE]', peer().ended('LOGIN', '* BYE [UNAVAILABLE] later', true), 'ETEMPFAIL', 75],
    ['BYE', peer().ended('LOGIN', '* BYE shutting down', false), 'EPROTOCOL', 76],
  ] as const)('%s -> %s', (_name, err, code, exit) => {
    expect(err.code).toBe(code);
    expect(err.exitCode).toBe(exit);
    expect(err.message).toContain(err.response);
    expect(err.message).toContain('account out');
  });

  it('IMAP response codes that mean "not now" (RFC 5530)', () => {
    expect(imapTemporary('* BYE [UNAVAILABLE] maintenance')).toBe(true);
    expect(imapTemporary('P1 NO [INUSE] locked')).toBe(true);
    expect(imapTemporary('P1 NO [AUTHENTICATIONFAILED] no')).toBe(false);
  });
});

describe('TLS failures in words', () => {
  it('a server stuck on TLS 1.0/1.1 says TLS 1.2 is required, without suggesting another setting', () => {
    for (const code of ['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'ERR_SSL_UNSUPPORTED_PROTOCOL']) {
      const err = peer('tls').system(tlsError(code));
      expect(err.code).toBe('ETLS');
      expect(err.hint).toContain('TLS 1.2 or newer');
      expect(err.fixes).toBeUndefined();
    }
  });

  it('no shared cipher is named as such', () => {
    expect(peer('tls').system(tlsError('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE')).message).toMatch(/no cipher suite/);
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
