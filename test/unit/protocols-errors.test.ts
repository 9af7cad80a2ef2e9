import { describe, expect, it } from 'vitest';
import { networkFailure, pop3Failure, securityMismatchHint } from '../../src/protocols/errors.js';

const imap = { name: 'work', type: 'imap' as const, host: 'mail.example.com', port: 993, security: 'starttls' as const };

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
    const err = pop3Failure(response, command, { login, user: 'ann', mechanisms: ['PLAIN'] });
    expect(err.code).toBe(code);
    expect(err.exitCode).toBe(exit);
    expect(err.response).toBe(response);
    if (code === 'EAUTH') {
      expect(err.message).toContain('ann');
      expect(err.hint).toContain('PLAIN');
    }
  });
});

describe('network failures', () => {
  const e = (code: string, message = code) => Object.assign(new Error(message), { code });
  it.each([
    ['ENOTFOUND', 'resolve', 'EUNREACHABLE'],
    ['EAI_AGAIN', 'resolve', 'EUNREACHABLE'],
    ['ECONNREFUSED', 'connect', 'EUNREACHABLE'],
    ['EHOSTUNREACH', 'connect', 'EUNREACHABLE'],
    ['ETIMEDOUT', 'greeting', 'ETIMEDOUT'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls', 'ETLS'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls', 'ETLS'],
    ['ECONNRESET', 'login', 'EPROTOCOL'],
  ])('%s during %s -> %s', (code, step, expected) => {
    expect(networkFailure(e(code), imap, step).code).toBe(expected);
  });

  it('names the usual port for the security when the port is a well-known one', () => {
    expect(securityMismatchHint(imap)).toBe('port 993 is the usual implicit-TLS port for imap: set --security tls');
    expect(securityMismatchHint({ ...imap, port: 143, security: 'tls' })).toContain('usual STARTTLS port for imap: set --security starttls');
    const plainAnswer = networkFailure(e('ERR_SSL_WRONG_VERSION_NUMBER'), { ...imap, type: 'smtp', port: 2525, security: 'tls' }, 'tls');
    expect(plainAnswer.hint).toContain('--security starttls');
  });
});
