// The adapter boundary's redaction (issue 10 item 1): every form of the secret, in every string an
// error or a result carries, in place (class and identity kept), through causes and nested values,
// and never into sockets or buffers.
import { describe, expect, it } from 'vitest';
import { MailboxError } from '../../src/core/errors.js';
import { protocolError, ProtocolError } from '../../src/protocols/errors.js';
import { REDACTED, scrubDeep, scrubbing, secretScrubber } from '../../src/protocols/redaction.js';
import { oauthBearerPayload, xoauth2Payload } from '../../src/protocols/sasl.js';
import { leaks, SECRET } from '../helpers/robustness.js';

const scrub = secretScrubber([SECRET], 'alice');
const bytes = Buffer.from(SECRET);

describe('every form of the secret', () => {
  it.each([
    ['plain', SECRET],
    ['latin1 reading of its UTF-8', bytes.toString('latin1')],
    ['IMAP-quoted', `"${SECRET.replace(/["\\]/g, (c) => `\\${c}`)}"`],
    ['IMAP-quoted latin1', `"${bytes.toString('latin1').replace(/["\\]/g, (c) => `\\${c}`)}"`],
    ['escaped in JSON', JSON.stringify({ p: SECRET })],
    ['base64 (SASL LOGIN)', bytes.toString('base64')],
    ['PLAIN payload', Buffer.from(`\0alice\0${SECRET}`).toString('base64')],
    ['PLAIN payload with an authzid', Buffer.from(`alice\0alice\0${SECRET}`).toString('base64')],
    ['XOAUTH2 payload', xoauth2Payload('alice', SECRET)],
    ['OAUTHBEARER payload', oauthBearerPayload('alice', 'mail.example.com', 993, SECRET)],
    ['base64 inside a longer run', Buffer.from(`xx${SECRET}yyyy`).toString('base64')],
  ])('%s', (_name, form) => {
    const text = scrub(`NO you sent: ${form} (done)`);
    expect(leaks(text)).toEqual([]);
    expect(text).toContain(REDACTED);
    expect(text).toMatch(/^NO you sent: .*\(done\)$/);
  });

  it('text without the secret is untouched; no secret scrubs nothing', () => {
    expect(scrub('250 2.0.0 queued as 4F2A1')).toBe('250 2.0.0 queued as 4F2A1');
    expect(secretScrubber([undefined, ''], 'alice')('Pa55 anything')).toBe('Pa55 anything');
  });
});

describe('scrubDeep', () => {
  it('errors are cleaned in place: class, identity, code kept; message, stack, response and causes cleaned', () => {
    const root = new Error(`socket said ${SECRET}`);
    const own = protocolError({ code: 'EAUTH', message: `login refused: ${SECRET}`, response: `535 ${bytes.toString('base64')}`, cause: root });
    const carrier = Object.assign(new Error('login failed', { cause: own }), { code: 'EAUTH', response: `535 you sent ${SECRET}`, errors: [new Error(SECRET)] });
    expect(scrubDeep(carrier, scrub)).toBe(carrier);
    expect(carrier.cause).toBe(own);
    expect(own).toBeInstanceOf(ProtocolError);
    expect(own).toMatchObject({ code: 'EAUTH', exitCode: 77, message: `login refused: ${REDACTED}`, response: `535 ${REDACTED}` });
    const everything = [carrier, own, root, carrier.errors[0]!].map((e) => `${e.message} ${e.stack} ${(e as { response?: string }).response ?? ''}`).join(' ');
    expect(leaks(everything)).toEqual([]);
    expect(carrier.response).toBe(`535 you sent ${REDACTED}`);
  });

  it('plain objects and arrays are cleaned; buffers, sockets and class instances are left alone', () => {
    const buffer = Buffer.from(SECRET);
    class Handle {
      text = SECRET;
    }
    const handle = new Handle();
    const value = { reply: `250 ${SECRET}`, list: [SECRET, { deep: SECRET }], buffer, handle, n: 3 };
    scrubDeep(value, scrub);
    expect(value).toMatchObject({ reply: `250 ${REDACTED}`, list: [REDACTED, { deep: REDACTED }], n: 3 });
    expect(value.buffer).toBe(buffer);
    expect(handle.text).toBe(SECRET);
  });

  it('a cycle of references ends', () => {
    const a: Record<string, unknown> = { text: SECRET };
    a.self = a;
    expect(scrubDeep(a, scrub).text).toBe(REDACTED);
  });

  it('scrubbing() rethrows the same error, cleaned', async () => {
    const err = new MailboxError('EPROTOCOL', `refused ${SECRET}`);
    await expect(scrubbing(scrub, () => Promise.reject(err))).rejects.toBe(err);
    expect(err.message).toBe(`refused ${REDACTED}`);
  });
});

