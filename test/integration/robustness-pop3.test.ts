// The POP3 client and the POP3 probe against a scripted server: RFC-legal but unusual replies,
// broken line endings, byte-level splits, hostile behaviour. Every failure must be a MailboxError
// with the right exit code, within the deadline, without the password in it.
import { describe, expect, it } from 'vitest';
import { MailboxError } from '../../src/core/errors.js';
import { Peer } from '../../src/protocols/net/peer.js';
import { connectTcp } from '../../src/protocols/net/socket.js';
import { Pop3Client } from '../../src/protocols/pop3/client.js';
import { openIncoming } from '../../src/protocols/open.js';
import { connectPop3 } from '../../src/protocols/pop3/connect.js';
import { serveCommands, type Script, type ScriptConn, type ScriptedServer } from '../harness/scripted-server.js';
import { expectFailure as failure, expectProbeFailure, probe, scriptedAccount, scriptedServers, SECRET } from '../helpers/robustness.js';

const serve = scriptedServers();
const account = (srv: ScriptedServer, over: Parameters<typeof scriptedAccount>[2] = {}) => scriptedAccount(srv, 'pop3', over);

interface Mailbox {
  greeting?: string;
  /** CAPA body lines; null answers CAPA with -ERR. */
  capa?: string[] | null;
  /** Line ending the server uses. */
  eol?: string;
  /** RETR n: the raw bytes after "+OK", terminator included. */
  wire?: Record<number, Buffer | string>;
  /** Reply to PASS. */
  pass?: string;
  /** Send bodies a byte at a time. */
  drip?: boolean;
}

/** A small POP3 mailbox: USER/PASS, AUTH PLAIN (initial response), STAT, UIDL, LIST, RETR, NOOP, QUIT. */
function pop3(box: Mailbox): Script {
  const eol = box.eol ?? '\r\n';
  return async (c: ScriptConn) => {
    const say = (text: string) => c.write(text + eol);
    const wire = box.wire ?? {};
    const ids = Object.keys(wire).map(Number);
    say(box.greeting ?? '+OK ready');
    await serveCommands(c, {
      CAPA: () => {
        if (box.capa === null) return say('-ERR unknown command');
        say('+OK');
        for (const l of box.capa ?? ['USER', 'UIDL']) say(l);
        say('.');
      },
      USER: () => say('+OK'),
      PASS: () => say(box.pass ?? '+OK logged in'),
      AUTH: (_l, a) => say(a[1]?.toUpperCase() === 'PLAIN' && a[2] === Buffer.from(`\0alice\0${SECRET}`).toString('base64') ? (box.pass ?? '+OK logged in') : '-ERR [AUTH] no'),
      STAT: () => say(`+OK ${ids.length} ${ids.reduce((n, id) => n + Buffer.byteLength(wire[id]!), 0)}`),
      UIDL: (_l, a) => {
        if (a[1]) return say(`+OK ${a[1]} uid-${a[1]}`);
        say('+OK');
        for (const id of ids) say(`${id} uid-${id}`);
        say('.');
      },
      LIST: () => {
        say('+OK');
        for (const id of ids) say(`${id} ${Buffer.byteLength(wire[id]!)}`);
        say('.');
      },
      RETR: async (_l, a) => {
        const body = wire[Number(a[1])];
        if (body === undefined) return say('-ERR no such message');
        say('+OK message follows');
        if (box.drip) await c.drip(body);
        else c.write(body);
      },
      NOOP: () => say('+OK'),
      QUIT: () => {
        say('+OK bye');
        c.end();
        return 'stop';
      },
    });
  };
}

async function retrBytes(client: Pop3Client, id: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await client.retrStream(id)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('POP3: RFC-legal but unusual servers', () => {
  it('bare "+OK" replies, CAPA with odd spacing and case, RESP-CODES, APOP greeting: login, STAT, UIDL, RETR work', async () => {
    const srv = await serve(
      pop3({
        greeting: '+OK <1896.697170952@dbc.mtview.ca.us>',
        capa: ['  top', 'USER\t', 'RESP-CODES', 'sasl   PLAIN\tLOGIN  ', 'UIDL', 'IMPLEMENTATION  Odd  Server'],
        pass: '+OK',
        wire: { 1: 'Subject: a\r\n\r\nhello\r\n.\r\n' },
      }),
    );
    // "sasl" in lower case still lists the mechanisms: AUTH PLAIN is chosen.
    const client = await connectPop3(account(srv), { secret: SECRET });
    expect(client.capabilities!.get('SASL')).toEqual(['PLAIN', 'LOGIN']);
    expect(srv.received().some((l) => l.startsWith('AUTH PLAIN '))).toBe(true);
    expect(client.capabilities!.has('TOP')).toBe(true);
    expect(client.greeting).toContain('<1896.697170952@dbc.mtview.ca.us>');
    expect(await client.stat()).toEqual({ count: 1, size: 24 });
    expect(await client.uidl()).toEqual([{ id: 1, uid: 'uid-1' }]);
    expect((await retrBytes(client, 1)).toString()).toBe('Subject: a\r\n\r\nhello\r\n');
    await client.quit();
    expect(srv.errors).toEqual([]);
  });

  it('lower-case status indicators ("+ok", "-err") are accepted (liberal reading of RFC 1939 §3)', async () => {
    const srv = await serve(async (c) => {
      c.line('+ok hello');
      await c.expect(/^CAPA$/);
      c.line('-err what?');
      await c.expect(/^USER alice$/);
      c.line('+ok');
      await c.expect(/^PASS /);
      c.line('-err [AUTH] invalid login');
      await c.untilClosed();
    });
    const err = await failure(connectPop3(account(srv), { secret: SECRET }));
    expect(err.code).toBe('EAUTH');
    expect(err.exitCode).toBe(77);
  });

  it('CAPA answered with -ERR (an RFC 1939-only server): USER/PASS, and the probe says so', async () => {
    const srv = await serve(pop3({ capa: null, wire: { 1: 'x\r\n.\r\n' } }));
    const result = await probe(account(srv));
    expect(result.error).toBeNull();
    const caps = result.stages.find((s) => s.name === 'capabilities')!;
    expect(caps.detail).toContain('no CAPA');
    expect(caps.detail).toContain('USER/PASS');
    expect(result.stages.find((s) => s.name === 'probe')!.detail).toContain('1 messages');
  });

  it('LF-only line endings from a broken server: status lines, listings and bodies still parse', async () => {
    const body = 'Subject: lf\n\nline one\n..dot line\n.\n';
    const srv = await serve(pop3({ eol: '\n', wire: { 1: body, 2: 'b\n.\n' } }));
    const client = await connectPop3(account(srv), { secret: SECRET });
    expect(await client.uidl()).toEqual([
      { id: 1, uid: 'uid-1' },
      { id: 2, uid: 'uid-2' },
    ]);
    expect((await retrBytes(client, 1)).toString()).toBe('Subject: lf\n\nline one\n.dot line\n');
    expect((await retrBytes(client, 2)).toString()).toBe('b\n');
    await client.quit();
  });

  it('a body dripped one byte per packet: a line of exactly ".", stuffed dots, NUL and 8-bit bytes, a 200 KB line', async () => {
    const long = 'x'.repeat(200 * 1024);
    const message = Buffer.concat([
      Buffer.from('Subject: tricky\r\n\r\n.\r\n..\r\n'),
      Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0d, 0x0a]),
      Buffer.from(`${long}\r\n`),
    ]);
    const stuffed = Buffer.from(message.toString('latin1').replace(/^\./gm, '..') + '.\r\n', 'latin1');
    // Drip only the small message byte by byte; the long one arrives in the usual chunks.
    const small = Buffer.from('a\r\n..\r\n\0\xff\r\n.\r\n', 'latin1');
    const srv = await serve(pop3({ wire: { 1: stuffed } }));
    const dripped = await serve(pop3({ wire: { 1: small }, drip: true }));
    const client = await connectPop3(account(srv), { secret: SECRET });
    expect((await retrBytes(client, 1)).equals(message)).toBe(true);
    await client.quit();
    const slow = await connectPop3(account(dripped), { secret: SECRET });
    expect((await retrBytes(slow, 1)).equals(Buffer.from('a\r\n.\r\n\0\xff\r\n', 'latin1'))).toBe(true);
    await slow.quit();
  });

  it('a message without a trailing CRLF: a server that glues the terminator to the last line never ends the body -> timeout, not a hang', async () => {
    const srv = await serve(pop3({ wire: { 1: 'Subject: t\r\n\r\nno newline.\r\n' } }));
    const client = await connectPop3(account(srv), { secret: SECRET, timeoutMs: 300 });
    const err = await failure(retrBytes(client, 1));
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.exitCode).toBe(75);
    expect(client.socket.destroyed).toBe(true);
  });
});

describe('POP3: refusals with response codes', () => {
  it('-ERR [IN-USE] on PASS is temporary (75); [SYS/TEMP/...] too; -ERR [AUTH] is 77', async () => {
    for (const [reply, code] of [
      ['-ERR [IN-USE] mailbox locked', 'ETEMPFAIL'],
      ['-ERR [SYS/TEMP/DISK] try later', 'ETEMPFAIL'],
      ['-ERR [LOGIN-DELAY] wait', 'ETEMPFAIL'],
      ['-ERR [AUTH] bad password', 'EAUTH'],
      ['-ERR', 'EAUTH'],
    ] as const) {
      const srv = await serve(pop3({ pass: reply }));
      const err = await failure(connectPop3(account(srv), { secret: SECRET }));
      expect(err.code, reply).toBe(code);
    }
  });

  it('a greeting of -ERR [SYS/TEMP] is temporary (75); a plain -ERR greeting is the server refusing us (69)', async () => {
    const temp = await serve(async (c) => {
      c.line('-ERR [SYS/TEMP] too many connections');
      await c.untilClosed();
    });
    const refused = await serve(async (c) => {
      c.line('-ERR go away');
      await c.untilClosed();
    });
    expect((await failure(connectPop3(account(temp), { secret: SECRET }))).exitCode).toBe(75);
    const err = await failure(connectPop3(account(refused), { secret: SECRET }));
    expect(err.exitCode).toBe(69);
    expect(err.message).toContain('go away');
  });

  it('STLS refused: ETLS (76), never a plaintext login', async () => {
    const srv = await serve(async (c) => {
      c.line('+OK hi');
      await c.expect(/^CAPA$/);
      c.write('+OK\r\nSTLS\r\nUSER\r\n.\r\n');
      await c.expect(/^STLS$/);
      c.line('-ERR [SYS/PERM] TLS is broken today');
      await c.untilClosed();
    });
    const err = await failure(connectPop3(account(srv, { security: 'starttls' }), { secret: SECRET }));
    expect(err.code).toBe('ETLS');
    expect(err.exitCode).toBe(76);
    expect(srv.received().some((l) => /^(USER|PASS|AUTH)/.test(l))).toBe(false);
    expectProbeFailure(await probe(account(srv, { security: 'starttls' })), 76, 'tls');
    const later = await serve(async (c) => {
      c.line('+OK hi');
      await c.expect(/^CAPA$/);
      c.write('+OK\r\nSTLS\r\n.\r\n');
      await c.expect(/^STLS$/);
      c.line('-ERR [SYS/TEMP] TLS keys are being rotated');
      await c.untilClosed();
    });
    expect((await failure(connectPop3(account(later, { security: 'starttls' }), { secret: SECRET }))).exitCode).toBe(75);
  });

  it('a server that repeats the password in its refusal: the error leaving the adapter does not', async () => {
    const srv = await serve(async (c) => {
      c.line('+OK');
      await c.expect(/^CAPA$/);
      c.write('+OK\r\nSASL PLAIN\r\n.\r\n');
      const auth = await c.expect(/^AUTH PLAIN /);
      const payload = auth.slice('AUTH PLAIN '.length);
      c.line(`-ERR bad credentials ${payload} (${Buffer.from(payload, 'base64').toString('latin1').split('\0')[2]})`);
      await c.untilClosed();
    });
    const err = await failure(openIncoming(account(srv), { secret: SECRET, timeoutMs: 5000 }));
    expect(err.code).toBe('EAUTH');
    expect(err.message).not.toContain(Buffer.from(`\0alice\0${SECRET}`).toString('base64'));
    expect(err.message).not.toContain(Buffer.from(SECRET).toString('latin1'));
  });
});

describe('POP3: hostile servers', () => {
  it('garbage instead of a greeting: EPROTOCOL (76)', async () => {
    const srv = await serve(async (c) => {
      c.write('HTTP/1.1 400 Bad Request\r\n\r\n');
      await c.untilClosed();
    });
    const err = await failure(connectPop3(account(srv), { secret: SECRET }));
    expect(err.code).toBe('EPROTOCOL');
    expect(err.exitCode).toBe(76);
  });

  it('an endless status line: EPROTOCOL after 64 KB, memory bounded, socket closed', async () => {
    let written = 0;
    const srv = await serve(async (c) => {
      c.write('+OK ');
      written = await c.flood('A'.repeat(16 * 1024));
    });
    const err = await failure(connectPop3(account(srv), { secret: SECRET, timeoutMs: 5000 }));
    expect(err.code).toBe('EPROTOCOL');
    await srv.settled();
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it('an endless CAPA listing: EPROTOCOL, not all of memory', async () => {
    let written = 0;
    const srv = await serve(async (c) => {
      c.line('+OK');
      await c.expect(/^CAPA$/);
      c.line('+OK');
      written = await c.flood('X-FILLER 1 2 3 4 5 6 7 8 9\r\n'.repeat(1000));
    });
    const err = await failure(connectPop3(account(srv), { secret: SECRET, timeoutMs: 10_000 }));
    expect(err.code).toBe('EPROTOCOL');
    await srv.settled();
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it('closes in the middle of a RETR body: the retrieval rejects with EPROTOCOL, nothing hangs', async () => {
    const srv = await serve(async (c) => {
      c.line('+OK');
      await serveCommands(c, {
        CAPA: () => c.line('-ERR'),
        USER: () => c.line('+OK'),
        PASS: () => c.line('+OK'),
        RETR: () => {
          c.write('+OK\r\nSubject: cut\r\n\r\nhalf a bo');
          c.end();
          return 'stop';
        },
      });
    });
    const client = await connectPop3(account(srv), { secret: SECRET });
    const err = await failure(retrBytes(client, 1));
    expect(err.code).toBe('EPROTOCOL');
    expect(err.message).toMatch(/closed/);
    await expect(client.stat()).rejects.toBeInstanceOf(MailboxError);
  });

  it('stalls in the middle of a command: rejects at the timeout and closes the socket', async () => {
    const srv = await serve(async (c) => {
      c.line('+OK');
      await serveCommands(c, {
        CAPA: () => c.line('-ERR'),
        USER: () => c.line('+OK'),
        PASS: () => c.line('+OK'),
        STAT: () => c.write('+OK 1 '),
      });
    });
    const client = await connectPop3(account(srv), { secret: SECRET, timeoutMs: 300 });
    const err = await failure(client.stat());
    expect(err.code).toBe('ETIMEDOUT');
    expect(client.socket.destroyed).toBe(true);
    await srv.settled();
  });

  it('the probe of a server that stalls after CAPA: 75 within the deadline', async () => {
    const srv = await serve(async (c) => {
      c.line('+OK');
      await c.expect(/^CAPA$/);
      c.write('+OK\r\nUSER\r\n');
      await c.untilClosed();
    });
    expect(expectProbeFailure(await probe(account(srv), 400), 75, 'capabilities').code).toBe('ETIMEDOUT');
    await srv.settled();
  });

  it('replies before the command (desynchronised pipeline): EPROTOCOL, not a misread reply', async () => {
    const srv = await serve(async (c) => {
      c.write('+OK hello\r\n+OK logged in already\r\n');
      await c.untilClosed();
    });
    const err = await failure(connectPop3(account(srv), { secret: SECRET }));
    expect(err.code).toBe('EPROTOCOL');
    expect(err.message).toMatch(/unexpected data/);
  });

  it('a greeting split across packets, one byte at a time', async () => {
    const srv = await serve(async (c) => {
      await c.drip('+OK dripping greeting\r\n');
      await serveCommands(c, { CAPA: () => c.line('-ERR'), USER: () => c.line('+OK'), PASS: () => c.line('+OK'), QUIT: () => (c.line('+OK'), 'stop') });
    });
    const peer = new Peer(account(srv));
    const client = new Pop3Client(await connectTcp(peer, srv.host), peer, { timeoutMs: 5000 });
    expect(await client.readGreeting()).toBe('+OK dripping greeting');
    await client.quit();
  });
});
