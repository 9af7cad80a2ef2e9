import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedactor, imapflowLogger, nodemailerLogger, openDebugLog, type Direction } from '../../src/protocols/debug-log.js';
import { REDACTED, secretForms } from '../../src/protocols/redaction.js';

const SECRET = 'p@ss w0rd"é';
const USER = 'carol@example.test';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Every form in which SECRET could leak. */
function leaks(text: string): string[] {
  return secretForms(SECRET, USER).filter((form) => text.includes(form));
}

function run(protocol: 'imap' | 'pop3' | 'smtp', lines: [Direction, string][]): string[] {
  const redact = createRedactor({ protocol, secrets: [SECRET], user: USER });
  return lines.map(([d, l]) => redact(d, l));
}

describe('redaction', () => {
  it('IMAP LOGIN keeps the user, hides the password; AUTHENTICATE hides the payload and its continuations', () => {
    const out = run('imap', [
      ['C', `A1 LOGIN "${USER}" "p@ss w0rd\\"é"`],
      ['S', 'A1 OK Logged in'],
      ['C', 'A2 AUTHENTICATE PLAIN'],
      ['S', '+ '],
      ['C', b64(`\0${USER}\0${SECRET}`)],
      ['S', 'A2 OK done'],
      ['C', 'A3 SELECT INBOX'],
    ]);
    expect(out[0]).toBe(`A1 LOGIN "${USER}" ${REDACTED}`);
    expect(out[2]).toBe('A2 AUTHENTICATE PLAIN');
    expect(out[4]).toBe(REDACTED);
    expect(out[6]).toBe('A3 SELECT INBOX');
    expect(leaks(out.join('\n'))).toEqual([]);
  });

  it('IMAP LOGIN with a literal password stays hidden until the tagged reply', () => {
    const out = run('imap', [
      ['C', 'A1 LOGIN carol {12}'],
      ['S', '+ OK'],
      ['C', 'p@ss w0rd"é'],
      ['S', 'A1 OK'],
      ['C', 'A2 NOOP'],
    ]);
    expect(out[2]).toBe(REDACTED);
    expect(out[4]).toBe('A2 NOOP');
  });

  it('POP3 PASS, APOP, AUTH with initial response and continuation', () => {
    const out = run('pop3', [
      ['C', `USER ${USER}`],
      ['C', `PASS ${SECRET}`],
      ['C', 'APOP carol 0123456789abcdef'],
      ['C', `AUTH PLAIN ${b64(`\0${USER}\0${SECRET}`)}`],
      ['S', '+OK'],
      ['C', 'AUTH LOGIN'],
      ['S', '+ VXNlcm5hbWU6'],
      ['C', b64(USER)],
      ['S', '+ UGFzc3dvcmQ6'],
      ['C', b64(SECRET)],
      ['S', '-ERR [AUTH] failed'],
      ['C', 'STAT'],
      ['C', 'AUTH'],
      ['C', 'CAPA'],
    ]);
    expect(out[0]).toBe(`USER ${USER}`);
    expect(out[1]).toBe(`PASS ${REDACTED}`);
    expect(out[2]).toBe(`APOP carol ${REDACTED}`);
    expect(out[3]).toBe(`AUTH PLAIN ${REDACTED}`);
    expect(out[7]).toBe(REDACTED);
    expect(out[9]).toBe(REDACTED);
    expect(out.slice(11)).toEqual(['STAT', 'AUTH', 'CAPA']);
    expect(leaks(out.join('\n'))).toEqual([]);
  });

  it('SMTP AUTH PLAIN/LOGIN/XOAUTH2 until the final reply', () => {
    const token = 'ya29.secret-token';
    const redact = createRedactor({ protocol: 'smtp', secrets: [token], user: USER });
    const xoauth = b64(`user=${USER}\x01auth=Bearer ${token}\x01\x01`);
    const out = [
      redact('C', `AUTH XOAUTH2 ${xoauth}`),
      redact('S', '334 eyJzdGF0dXMiOiI0MDEifQ=='),
      redact('C', ''),
      redact('S', '535 5.7.8 failed'),
      redact('C', 'AUTH LOGIN'),
      redact('S', '334 VXNlcm5hbWU6'),
      redact('C', b64(USER)),
      redact('S', '334 UGFzc3dvcmQ6'),
      redact('C', b64(token)),
      redact('S', '235 ok'),
      redact('C', 'MAIL FROM:<a@b.c>'),
    ];
    expect(out[0]).toBe(`AUTH XOAUTH2 ${REDACTED}`);
    expect(out[8]).toBe(REDACTED);
    expect(out[10]).toBe('MAIL FROM:<a@b.c>');
    expect(out.join('\n')).not.toContain(token);
    expect(out.join('\n')).not.toContain(xoauth);
  });

  it('SCRAM: the client lines and the server challenges (salt, nonce, signature: enough to try passwords offline) are hidden', () => {
    for (const [protocol, start, challenge, done] of [
      ['smtp', 'AUTH SCRAM-SHA-256 biwsbj1hbm4scj1hYmM=', '334', '235 ok'],
      ['pop3', 'AUTH SCRAM-SHA-256 biwsbj1hbm4scj1hYmM=', '+', '+OK in'],
      ['imap', 'A1 AUTHENTICATE SCRAM-SHA-256 biwsbj1hbm4scj1hYmM=', '+', 'A1 OK in'],
    ] as const) {
      const redact = createRedactor({ protocol, secrets: [SECRET], user: USER });
      const out = [redact('C', start), redact('S', `${challenge} cj1hYmNkZWYscz1zYWx0LGk9NDA5Ng==`), redact('C', 'Yz1iaXdzLHI9YWJjZGVmLHA9cHJvb2Y='), redact('S', `${challenge} dj1zaWduYXR1cmU=`), redact('C', ''), redact('S', done)];
      expect(out, protocol).toEqual([start.replace(/ \S+$/, ` ${REDACTED}`), `${challenge} ${REDACTED}`, REDACTED, `${challenge} ${REDACTED}`, REDACTED, done]);
    }
  });

  it('scrubs the secret and its base64 at any alignment wherever it appears', () => {
    const redact = createRedactor({ protocol: 'smtp', secrets: [SECRET], user: USER });
    for (const prefix of ['', 'x', 'xy', 'xyz']) {
      const line = redact('S', `250 echo ${b64(prefix + SECRET + 'tail')}`);
      expect(leaks(line), prefix).toEqual([]);
      expect(line).not.toContain(b64(prefix + SECRET + 'tail'));
    }
    expect(redact('*', `error: bad password ${SECRET}`)).toBe(`error: bad password ${REDACTED}`);
  });
});

describe('debug log file', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('is created 0600 in a 0700 folder and holds the exchange without the secret', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mbx-dbg-'));
    dirs.push(dir);
    const file = path.join(dir, 'logs', 'work.log');
    const log = openDebugLog(file, { protocol: 'pop3', secrets: [SECRET], user: USER, account: 'work' });
    log.tap('S', '+OK Dovecot ready.');
    log.tap('C', `PASS ${SECRET}`);
    log.write('*', `connection failed with ${SECRET}`);
    log.close();
    log.tap('C', 'after close is ignored');
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('S +OK Dovecot ready.');
    expect(text).toContain(`C PASS ${REDACTED}`);
    expect(text).not.toContain('after close');
    expect(leaks(text)).toEqual([]);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
  });

  it('tightens an existing log file to 0600', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mbx-dbg-'));
    dirs.push(dir);
    const file = path.join(dir, 'old.log');
    fs.writeFileSync(file, 'old\n', { mode: 0o644 });
    openDebugLog(file, { protocol: 'imap', secrets: [], account: 'x' }).close();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^old\n/);
  });

  it('adapts imapflow and nodemailer log calls, raw and parsed', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mbx-dbg-'));
    dirs.push(dir);
    const file = path.join(dir, 'a.log');
    const log = openDebugLog(file, { protocol: 'imap', secrets: [SECRET], user: USER, account: 'a' });
    const imap = imapflowLogger(log);
    imap.debug({ src: 's', msg: '* OK ready', cid: 'x' });
    imap.trace({ src: 'c', data: b64(`1 LOGIN carol "${SECRET}"\r\n`), cid: 'x' });
    imap.error({ msg: 'boom', err: new Error(SECRET) });
    log.close();
    const smtpFile = path.join(dir, 's.log');
    const slog = openDebugLog(smtpFile, { protocol: 'smtp', secrets: [SECRET], user: USER, account: 's' });
    const smtp = nodemailerLogger(slog);
    smtp.debug({ tnx: 'server' }, '220 hello');
    smtp.debug({ tnx: 'client' }, 'AUTH PLAIN %s', b64(`\0${USER}\0${SECRET}`));
    smtp.info({ tnx: 'smtp' }, 'Sent %s', SECRET);
    slog.close();
    const text = fs.readFileSync(file, 'utf8') + fs.readFileSync(smtpFile, 'utf8');
    expect(text).toContain('S * OK ready');
    expect(text).toContain(`C 1 LOGIN carol ${REDACTED}`);
    expect(text).toContain('S 220 hello');
    expect(text).toContain(`C AUTH PLAIN ${REDACTED}`);
    expect(leaks(text)).toEqual([]);
  });
});
