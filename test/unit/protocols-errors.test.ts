import { describe, expect, it } from 'vitest';
import { hintText } from '../../src/cli/hints.js';
import { ErrorCodes } from '../../src/core/errors.js';
import { protocolError, ProtocolError } from '../../src/protocols/errors.js';
import { Peer, type PeerAccount, type Stage } from '../../src/protocols/net/peer.js';
import { securityMismatch } from '../../src/protocols/net/security-advice.js';
import { refusedLoginAdvice } from '../../src/protocols/login.js';
import { pop3Refused } from '../../src/protocols/pop3/failures.js';

const imap = { name: 'work', type: 'imap' as const, host: 'mail.example.com', port: 993, security: 'starttls' as const };

function peer(stage: Stage = 'login', account: PeerAccount = imap): Peer {
  const p = new Peer(account);
  p.stage = stage;
  return p;
}

describe('the one factory', () => {
  it('keeps the code, the response, the command and the account; temporary follows the code', () => {
    const err = protocolError({ code: 'ETEMPFAIL', message: 'm', response: '421 busy', command: 'EHLO', account: 'work', fixes: [{ field: 'port', value: '465' }] });
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err).toMatchObject({ code: 'ETEMPFAIL', exitCode: 75, response: '421 busy', command: 'EHLO', account: 'work', temporary: true });
    expect(protocolError({ code: 'EAUTH', message: 'm' }).temporary).toBe(false);
    expect(protocolError({ code: 'ETIMEDOUT', message: 'm' }).temporary).toBe(true);
  });

  it('every code it is given is in the table (no code strings of its own)', () => {
    const p = peer();
    const made = [p.timedOut('x'), p.closed('x'), p.violation('x'), p.refused('EHLO', '550 no', false), p.ended('LOGIN', '* BYE', false), p.greetingRefused('554', false), p.startTlsNotOffered('STLS'), p.implicitTlsPort()];
    for (const err of made) expect(Object.keys(ErrorCodes)).toContain(err.code);
  });
});

describe('POP3 -ERR responses', () => {
  it.each([
    ['-ERR [AUTH] Authentication failed.', 'PASS', true, 'EAUTH', 77],
    ['-ERR Authentication failed.', 'PASS', true, 'EAUTH', 77],
    ['-ERR [IN-USE] Mailbox locked', 'PASS', true, 'ETEMPFAIL', 75],
    ['-ERR [SYS/TEMP] Try later', 'AUTH', true, 'ETEMPFAIL', 75],
    ['-ERR [LOGIN-DELAY] Too soon', 'USER', true, 'ETEMPFAIL', 75],
    ['-ERR [SYS/PERM] Broken', 'PASS', true, 'EPROTOCOL', 76],
    ['-ERR no such message', 'RETR 9', false, 'EPROTOCOL', 76],
  ])('%s after %s', (response, command, login, code, exit) => {
    const err = pop3Refused(peer(), response, command, login ? { user: 'ann', ...refusedLoginAdvice('SASL PLAIN', 'AUTH PLAIN', false) } : undefined);
    expect(err.code).toBe(code);
    expect(err.exitCode).toBe(exit);
    expect(err.response).toBe(response);
    expect(err.message).toMatch(/^account work: /);
    if (code === 'EAUTH') {
      expect(err.message).toContain('ann');
      expect(err.hint).toContain('PLAIN');
      expect(hintText(err)).toContain('mailbox edit work --password-stdin');
    }
  });
});

describe('system errors, translated by the table', () => {
  const e = (code: string, message = code) => Object.assign(new Error(message), { code });
  it.each([
    ['ENOTFOUND', 'resolve', 'EUNREACHABLE'],
    ['EAI_AGAIN', 'resolve', 'EUNREACHABLE'],
    ['ECONNREFUSED', 'connect', 'EUNREACHABLE'],
    ['EHOSTUNREACH', 'connect', 'EUNREACHABLE'],
    ['ETIMEDOUT', 'greeting', 'ETIMEDOUT'],
    ['GREETING_TIMEOUT', 'login', 'ETIMEDOUT'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls', 'ETLS'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls', 'ETLS'],
    ['ECONNRESET', 'login', 'EPROTOCOL'],
    ['ECONNRESET', 'tls', 'ETLS'],
    ['SOMETHING_ELSE', 'login', 'EPROTOCOL'],
  ] as const)('%s during %s -> %s', (code, stage, expected) => {
    const err = peer(stage).system(e(code));
    expect(err.code).toBe(expected);
    expect(err.account).toBe('work');
    expect(err.message).toMatch(/^account work: /);
  });
});

describe('hints name settings, never flags; the CLI words them', () => {
  it('names the usual port for the security when the port is a well-known one', () => {
    const implicit = securityMismatch(imap);
    expect(implicit.hint).toBe('port 993 is the usual implicit-TLS port for imap');
    expect(implicit.fixes).toEqual([{ field: 'security', value: 'tls' }]);
    expect(hintText({ ...implicit, account: 'work' })).toBe('port 993 is the usual implicit-TLS port for imap: mailbox edit work --security tls');
    expect(hintText({ ...securityMismatch({ ...imap, port: 143, security: 'tls' }), account: 'work' })).toContain('usual STARTTLS port for imap: use starttls on it, or the implicit-TLS port 993: mailbox edit work --security starttls, or mailbox edit work --port 993');
    const plainAnswer = peer('tls', { ...imap, type: 'smtp' as const, port: 2525, security: 'tls' as const }).system(e('ERR_SSL_WRONG_VERSION_NUMBER'));
    expect(hintText(plainAnswer)).toContain('--security starttls');
  });

  it('no hint made in src/protocols contains a flag', () => {
    const p = peer('greeting');
    const made = [p.timedOut('x'), p.closed('x'), p.violation('x'), p.startTlsNotOffered('STARTTLS'), p.implicitTlsPort(), p.system(e('DEPTH_ZERO_SELF_SIGNED_CERT')), peer('connect').timedOut('TCP connect')];
    for (const err of made) expect(err.hint ?? '', err.message).not.toMatch(/--[a-z]/);
  });
  const e = (code: string) => Object.assign(new Error(code), { code });
});
