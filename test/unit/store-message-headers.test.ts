import { describe, expect, it } from 'vitest';
import { addresses, decodeWords, headerEnd, HeaderCapture, summarize, withoutFields } from '../../src/store/message-headers.js';

const crlf = (s: string) => Buffer.from(s.replace(/\n/g, '\r\n'));

describe('header block', () => {
  it('finds the end of the header block with CRLF or LF line ends', () => {
    expect(headerEnd(crlf('A: 1\nB: 2\n\nbody'))).toBe(crlf('A: 1\nB: 2\n\n').length);
    expect(headerEnd(Buffer.from('A: 1\n\nbody'))).toBe(6);
    expect(headerEnd(Buffer.from('A: 1\nB: 2\n'))).toBe(-1);
    expect(headerEnd(crlf('\nbody'))).toBe(2);
  });

  it('captures the header of a stream split inside the blank line', () => {
    const capture = new HeaderCapture();
    for (const part of ['Subject: x\r', '\n\r', '\nbody', ' more']) capture.push(Buffer.from(part));
    expect(capture.buffer().toString()).toBe('Subject: x\r\n\r\n');
  });
});

describe('summarize', () => {
  it('reads addresses, an encoded subject, the date and the message id', () => {
    const s = summarize(
      crlf(
        'From: "Doe, Jane" <jane@example.com>\nTo: a@example.com,\n B <b@example.com>\nCc: team: c@example.com, d@example.com;\n' +
          'Subject: =?UTF-8?B?SGVsbG8g?=\n =?UTF-8?Q?w=C3=B6rld?=\nDate: Tue, 1 Jul 2025 10:00:00 +0200 (CEST)\nMessage-ID: <abc@x>\n\nbody',
      ),
    );
    expect(s).toEqual({
      from: 'jane@example.com',
      to: ['a@example.com', 'b@example.com'],
      cc: ['c@example.com', 'd@example.com'],
      bcc: [],
      subject: 'Hello wörld',
      date: '2025-07-01T08:00:00.000Z',
      messageId: 'abc@x',
    });
  });

  it('keeps raw UTF-8 headers and unknown charsets readable', () => {
    expect(summarize(Buffer.from('Subject: Grüße\n\n')).subject).toBe('Grüße');
    expect(decodeWords('=?x-unknown?Q?a?=')).toBe('=?x-unknown?Q?a?=');
    expect(decodeWords('=?ISO-8859-1?Q?caf=E9?=')).toBe('café');
  });

  it('reads addresses with comments, quoted local parts and groups', () => {
    expect(addresses('"john doe"@example.com (work), x@y.z')).toEqual(['"john doe"@example.com', 'x@y.z']);
    expect(addresses('undisclosed-recipients:;')).toEqual([]);
    expect(addresses('=?UTF-8?Q?J=C3=B6rg?= <jorg@example.com>')).toEqual(['jorg@example.com']);
  });

  it('has nulls where headers are missing', () => {
    expect(summarize(Buffer.from('X: y\n\n'))).toMatchObject({ from: null, to: [], subject: null, date: null, messageId: null });
  });
});

describe('withoutFields', () => {
  it('drops a field and its continuation lines, byte for byte otherwise', () => {
    const block = crlf('From: a@x\nBcc: s@x,\n  t@x\nSubject: s\n\n');
    expect(withoutFields(block, ['bcc']).toString()).toBe(crlf('From: a@x\nSubject: s\n\n').toString());
  });
});
