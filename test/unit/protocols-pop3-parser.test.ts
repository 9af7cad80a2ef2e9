import { describe, expect, it } from 'vitest';
import { CollectSink, DotDecoder, parseStatus, Pop3ParseError, Pop3ResponseReader } from '../../src/protocols/pop3/parser.js';

/** Decodes `wire` fed in the given chunk sizes; returns body and the bytes left after the terminator. */
function decode(wire: Buffer, cuts: number[]): { body: Buffer; rest: Buffer; ended: boolean } {
  const sink = new CollectSink();
  let ended = false;
  const decoder = new DotDecoder({ write: (c) => sink.write(c), end: () => (ended = true) });
  let offset = 0;
  const rest: Buffer[] = [];
  const bounds = [...cuts, wire.length];
  for (const end of bounds) {
    const chunk = wire.subarray(offset, end);
    offset = end;
    if (ended) {
      rest.push(chunk);
      continue;
    }
    const used = decoder.push(chunk);
    if (used >= 0) rest.push(chunk.subarray(used));
  }
  return { body: sink.bytes, rest: Buffer.concat(rest), ended };
}

const MESSAGE = Buffer.concat([
  Buffer.from('Subject: caf\xe9\r\n\r\n', 'latin1'),
  Buffer.from([0xff, 0xfe, 0x80, 0x0d, 0x0a]),
  Buffer.from('.leading dot\r\n..two dots\r\n.\tdot tab\r\nlast line without dot\r\n'),
]);
/** What a server sends: every line starting with "." gets one more, then ".\r\n". */
const WIRE = Buffer.concat([Buffer.from(MESSAGE.toString('latin1').replace(/^\./gm, '..'), 'latin1'), Buffer.from('.\r\n+OK next\r\n')]);

describe('POP3 multi-line body decoding', () => {
  it('undoes dot-stuffing and keeps CRLF and 8-bit bytes, in one chunk', () => {
    const { body, rest, ended } = decode(WIRE, []);
    expect(ended).toBe(true);
    expect(body.equals(MESSAGE)).toBe(true);
    expect(rest.toString()).toBe('+OK next\r\n');
  });

  it('gives the same bytes for every split into two chunks (terminator and stuffed dots across the boundary)', () => {
    for (let cut = 1; cut < WIRE.length; cut++) {
      const { body, rest, ended } = decode(WIRE, [cut]);
      expect(ended, `cut at ${cut}`).toBe(true);
      expect(body.equals(MESSAGE), `cut at ${cut}`).toBe(true);
      expect(rest.toString(), `cut at ${cut}`).toBe('+OK next\r\n');
    }
  });

  it('survives one byte per chunk', () => {
    const cuts = Array.from({ length: WIRE.length - 1 }, (_, i) => i + 1);
    const { body, rest } = decode(WIRE, cuts);
    expect(body.equals(MESSAGE)).toBe(true);
    expect(rest.toString()).toBe('+OK next\r\n');
  });

  it('splits ".\\r" | "\\n" and "." | "\\r\\n" at the end', () => {
    const wire = Buffer.from('a\r\n.\r\n');
    expect(decode(wire, [4]).body.toString()).toBe('a\r\n');
    expect(decode(wire, [5]).body.toString()).toBe('a\r\n');
    expect(decode(wire, [3, 4, 5]).ended).toBe(true);
  });

  it('ends an empty body', () => {
    const { body, ended } = decode(Buffer.from('.\r\n'), []);
    expect(ended).toBe(true);
    expect(body.length).toBe(0);
  });

  it('does not end at a dot in the middle of a line', () => {
    const { body, ended } = decode(Buffer.from('x.\r\n.y\r\n'), []);
    expect(ended).toBe(false);
    expect(body.toString()).toBe('x.\r\ny\r\n');
  });
});

describe('POP3 status lines and the response queue', () => {
  it('parses +OK, -ERR and SASL continuations', () => {
    expect(parseStatus('+OK 2 320')).toMatchObject({ ok: true, continuation: false, text: '2 320' });
    expect(parseStatus('-ERR [AUTH] nope')).toMatchObject({ ok: false, text: '[AUTH] nope' });
    expect(parseStatus('+ ')).toMatchObject({ ok: true, continuation: true, text: '' });
    expect(() => parseStatus('* OK imap')).toThrow(Pop3ParseError);
  });

  it('matches pipelined responses to their commands across chunk boundaries', () => {
    const reader = new Pop3ResponseReader();
    const seen: string[] = [];
    const bodies = [new CollectSink(), new CollectSink()];
    reader.expect({ onStatus: (s) => (seen.push(s.line), bodies[0]), onDone: () => seen.push('done1') });
    reader.expect({ onStatus: (s) => (seen.push(s.line), undefined), onDone: () => seen.push('done2') });
    reader.expect({ onStatus: (s) => (seen.push(s.line), bodies[1]), onDone: () => seen.push('done3') });
    const wire = Buffer.from('+OK 1\r\n..x\r\n.\r\n-ERR no such message\r\n+OK 3\r\ny\r\n.\r\n');
    for (let i = 0; i < wire.length; i += 5) reader.feed(wire.subarray(i, i + 5));
    expect(seen).toEqual(['+OK 1', 'done1', '-ERR no such message', 'done2', '+OK 3', 'done3']);
    expect(bodies[0]!.bytes.toString()).toBe('.x\r\n');
    expect(bodies[1]!.bytes.toString()).toBe('y\r\n');
    expect(reader.waiting).toBe(0);
  });

  it('treats data nobody asked for as a protocol error', () => {
    const reader = new Pop3ResponseReader();
    expect(() => reader.feed(Buffer.from('+OK surprise\r\n'))).toThrow(/unexpected data/);
  });
});
