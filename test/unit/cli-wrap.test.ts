// Long `mailbox test` lines fitted to a terminal: broken at "; " then ", " then spaces, a value only
// when it cannot fit, continued under the text; fingerprints shortened there unless --full; a pipe
// (no width) gets every line whole.
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { renderProbe, shortenFingerprints } from '../../src/cli/probe-view.js';
import { fitBlock, wrapText } from '../../src/cli/wrap.js';
import type { ProbeResult } from '../../src/protocols/probe/index.js';

const FP = Array.from({ length: 32 }, (_, i) => (i * 7 + 16).toString(16).toUpperCase().padStart(2, '0').slice(-2)).join(':');
const TLS_DETAIL = `TLSv1.3 TLS_AES_256_GCM_SHA384; certificate CN=localhost, issued by CN=mailbox test CA; expires 2035-06-01; SHA-256 ${FP}; verified against the account's CA file /tmp/mailbox-test-abcdef/ca.pem`;

describe('wrapText', () => {
  it('keeps a line that fits as it is', () => {
    expect(wrapText('a; b, c', 7)).toEqual(['a; b, c']);
  });

  it('breaks between facts ("; ") before anything else, the mark staying at the line end', () => {
    expect(wrapText('first fact here; second fact, with a comma; third', 30)).toEqual(['first fact here;', 'second fact, with a comma;', 'third']);
  });

  it('breaks a fact too long for a line at ", ", then at spaces, packing what follows', () => {
    const lines = wrapText('certificate CN=localhost, issued by CN=mailbox test CA; expires 2035-06-01', 40);
    expect(lines).toEqual(['certificate CN=localhost,', 'issued by CN=mailbox test CA;', 'expires 2035-06-01']);
    // The next fact joins the tail of a broken one when it fits there.
    expect(wrapText('certificate CN=localhost, issued by CN=mailbox test CA; expires 2035-06-01', 50)).toEqual(['certificate CN=localhost,', 'issued by CN=mailbox test CA; expires 2035-06-01']);
    expect(wrapText('one two three four five six', 10)).toEqual(['one two', 'three four', 'five six']);
  });

  it('breaks a value only when it cannot fit, after a ":" where it has one', () => {
    const lines = wrapText(`SHA-256 ${FP}`, 40);
    expect(lines[0]).toBe('SHA-256');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(40);
    expect(lines.slice(1).every((l) => /^[0-9A-F]{2}/.test(l) && (l === lines.at(-1) || l.endsWith(':')))).toBe(true);
    expect(lines.slice(1).join('')).toBe(FP);
    expect(wrapText('x'.repeat(25), 10)).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
  });

  it('leaves a value whole on a line of its own when told not to break values', () => {
    expect(wrapText(`pin it: mailbox edit x --fingerprint ${FP}`, 40, { breakValues: false })).toEqual(['pin it: mailbox edit x --fingerprint', FP]);
  });

  it('every line fits, whatever the text and the room', () => {
    for (const room of [5, 13, 33, 54, 79]) {
      for (const line of wrapText(TLS_DETAIL, room)) expect(line.length).toBeLessThanOrEqual(room);
      expect(wrapText(TLS_DETAIL, room).join(' ').replace(/\s+/g, '')).toBe(TLS_DETAIL.replace(/\s+/g, ''));
    }
  });
});

describe('fitBlock', () => {
  it('without a width: one line, unchanged', () => {
    expect(fitBlock('> ', 2, TLS_DETAIL, undefined)).toEqual([`> ${TLS_DETAIL}`]);
  });

  it('continues under the text; on a narrow terminal the text starts on the next line', () => {
    const wide = fitBlock('  prefix: ', 10, TLS_DETAIL, 80);
    expect(wide[0]!.startsWith('  prefix: TLSv1.3')).toBe(true);
    for (const line of wide.slice(1)) expect(line).toMatch(/^ {10}\S/);
    const narrow = fitBlock('  a long prefix here: ', 22, TLS_DETAIL, 40);
    expect(narrow[0]).toBe('  a long prefix here:');
    for (const line of narrow.slice(1)) expect(line).toMatch(/^ {4}\S/);
    for (const line of wide) expect(line.length).toBeLessThanOrEqual(80);
    for (const line of narrow) expect(line.length).toBeLessThanOrEqual(40);
  });
});

describe('renderProbe on a terminal', () => {
  const plain = new Chalk({ level: 0 });
  const result: ProbeResult = {
    account: 'work-imap',
    type: 'imap',
    server: '127.0.0.1:993',
    security: 'tls',
    ok: false,
    ms: 120,
    stages: [
      { name: 'resolve', ok: true, ms: 1, detail: '127.0.0.1' },
      { name: 'tls', ok: true, ms: 31, detail: TLS_DETAIL, data: { certificate: { fingerprint256: FP } } },
      { name: 'login', ok: false, ms: 15, detail: 'account work-imap: login as alice failed: NO [AUTHENTICATIONFAILED] Authentication failed, and a long tail after it.' },
    ],
    warnings: ['the certificate of 127.0.0.1:993 expires on 2035-06-01 (in 3 days), and this warning goes on long enough to wrap'],
    error: { code: 'EAUTH', message: 'login failed', hint: `check the user name and password; or pin this one: --fingerprint ${FP}` },
    exitCode: 77,
  };

  it('fits 80 columns, stage details continued under the detail column, the fingerprint shortened', () => {
    const text = renderProbe(result, plain, {}, { width: 80 });
    const lines = text.split('\n');
    const hintAt = lines.findIndex((l) => l.startsWith('  hint: '));
    // Every line but the hint's fingerprint (left whole to be copied) fits.
    for (const line of lines) if (line.trim() !== FP) expect(line.length, line).toBeLessThanOrEqual(80);
    const tls = lines.findIndex((l) => l.startsWith('  ✓ tls'));
    const detailColumn = lines[tls]!.indexOf('TLSv1.3');
    expect(lines[tls + 1]!.slice(0, detailColumn).trim()).toBe('');
    expect(lines[tls + 1]![detailColumn]).not.toBe(' ');
    expect(text).toContain(`SHA-256 ${FP.slice(0, 23)}…`);
    expect(lines.slice(0, hintAt).join('\n')).not.toContain(FP);
    // The hint keeps the fingerprint whole, on a line of its own.
    expect(lines.slice(hintAt).map((l) => l.trim())).toContain(FP);
    expect(text).toContain('work-imap: FAILED at login: EAUTH (exit 77) after 120 ms');
  });

  it('--full shows the fingerprint whole, broken over lines only where it cannot fit', () => {
    const text = renderProbe(result, plain, {}, { width: 80, full: true });
    const lines = text.split('\n');
    for (const line of lines) if (line.trim() !== FP) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(text.replace(/\n\s+/g, '')).toContain(FP);
    expect(text).not.toContain('…');
  });

  it('without a width (a pipe): one line per stage, every value whole, as before', () => {
    const text = renderProbe(result, plain);
    expect(text.split('\n')).toHaveLength(1 + 3 + 1 + 2);
    expect(text).toContain(`  ✓ tls            31 ms  ${TLS_DETAIL}`);
    expect(renderProbe(result, plain, {}, { full: true })).toBe(text);
  });
});

describe('shortenFingerprints', () => {
  it('cuts every SHA-256 fingerprint to its first 8 byte pairs and leaves other hex alone', () => {
    expect(shortenFingerprints(`fingerprint ${FP} is not the pinned ${FP.toLowerCase()}`)).toBe(`fingerprint ${FP.slice(0, 23)}… is not the pinned ${FP.toLowerCase().slice(0, 23)}…`);
    expect(shortenFingerprints('UIDVALIDITY 1234; AB:CD:EF')).toBe('UIDVALIDITY 1234; AB:CD:EF');
  });
});
