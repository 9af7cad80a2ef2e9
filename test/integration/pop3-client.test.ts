// The project's POP3 client against a real Dovecot: STLS, CAPA, USER/PASS, AUTH PLAIN, byte-exact
// RETR, pipelined RETR, timeouts.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account } from '../../src/core/account.js';
import { MailboxError } from '../../src/core/errors.js';
import { Pop3Client } from '../../src/protocols/pop3/client.js';
import { connectPop3 } from '../../src/protocols/pop3/connect.js';
import { connectTcp } from '../../src/protocols/net/socket.js';
import { startDovecot, startSilentServer, type Dovecot, type SilentServer } from '../harness/index.js';

let dovecot: Dovecot;
let silent: SilentServer;

/** 8-bit body, lines starting with ".", CRLF: what must come back byte for byte. */
const TRICKY = Buffer.concat([
  Buffer.from('From: a@example.test\r\nTo: alice@example.test\r\nSubject: dots\r\nContent-Type: text/plain; charset=latin1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'),
  Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xff, 0xfe, 0x0d, 0x0a]),
  Buffer.from('.one dot\r\n..two dots\r\n.\r\nafter a lone dot line\r\n'),
]);

function account(over: Partial<Account> = {}): Account {
  return {
    name: 'pop',
    type: 'pop3',
    host: dovecot.host,
    port: dovecot.pop3sPort,
    security: 'tls',
    auth: 'password',
    user: 'alice',
    active: true,
    debug: false,
    tls: { ca: dovecot.caFile },
    ...over,
  };
}

function collector(): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  return {
    sink: new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }),
    bytes: () => Buffer.concat(chunks),
  };
}

beforeAll(async () => {
  [dovecot, silent] = await Promise.all([startDovecot(), startSilentServer()]);
  await dovecot.deliver('alice', TRICKY);
  for (let i = 1; i <= 40; i++) await dovecot.deliver('bob', `Subject: m${i}\r\n\r\nbody ${i} ${'x'.repeat(i * 50)}\r\n.${i}\r\n`);
});
afterAll(async () => {
  await Promise.all([dovecot?.stop(), silent?.stop()]);
});

describe('POP3 client against Dovecot', () => {
  it('implicit TLS, CAPA, AUTH PLAIN, STAT, UIDL, LIST and byte-exact RETR', async () => {
    const lines: string[] = [];
    const client = await connectPop3(account(), { secret: 'alice-secret', tap: (d, l) => lines.push(`${d} ${l}`) });
    expect(client.secure).toBe(true);
    expect(client.capabilities!.has('PIPELINING')).toBe(true);
    expect(lines.some((l) => l.startsWith('C AUTH PLAIN '))).toBe(true);
    const stat = await client.stat();
    expect(stat.count).toBe(1);
    const uidl = await client.uidl();
    expect(uidl).toHaveLength(1);
    expect(uidl[0]!.uid).toMatch(/\S+/);
    const list = await client.list();
    expect(list[0]!.size).toBe(stat.size);
    const { sink, bytes } = collector();
    const n = await client.retr(1, sink);
    expect(bytes().equals(TRICKY)).toBe(true);
    expect(n).toBe(TRICKY.length);
    expect((await client.top(1, 0)).toString()).toContain('Subject: dots\r\n');
    await client.quit();
  });

  it('STLS on the plain port, then USER/PASS with a password holding space, quote, @ and UTF-8', async () => {
    const client = await connectPop3(account({ port: dovecot.pop3Port, security: 'starttls', user: 'carol@example.test' }), {
      secret: dovecot.users['carol@example.test']!,
      mechanism: 'user',
    });
    expect(client.secure).toBe(true);
    expect(client.capabilities!.has('STLS')).toBe(false); // re-read after TLS
    expect(await client.stat()).toEqual({ count: 0, size: 0 });
    await client.noop();
    await client.quit();
  });

  it('AUTH PLAIN by continuation (no initial response) for the UTF-8 password', async () => {
    const socket = await connectTcp(dovecot.host, dovecot.pop3Port);
    const client = new Pop3Client(socket);
    await client.readGreeting();
    await client.capa();
    await client.login('carol@example.test', dovecot.users['carol@example.test']!, { mechanism: 'plain', initialResponse: false });
    expect((await client.stat()).count).toBe(0);
    await client.quit();
  });

  it('wrong password: EAUTH naming the user and the mechanisms offered', async () => {
    const err = await connectPop3(account(), { secret: 'wrong' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailboxError);
    expect((err as MailboxError).code).toBe('EAUTH');
    expect((err as MailboxError).exitCode).toBe(77);
    expect((err as MailboxError).message).toContain('alice');
    expect((err as MailboxError).hint).toContain('PLAIN');
  });

  it('pipelined RETR of many messages, in order, byte-exact, within a window', async () => {
    const client = await connectPop3(account({ user: 'bob' }), { secret: 'bob-secret' });
    const ids = (await client.list()).map((m) => m.id);
    expect(ids).toHaveLength(40);
    const got: { id: number; text: string }[] = [];
    await client.retrMany(
      ids,
      async (id, body) => {
        const chunks: Buffer[] = [];
        for await (const c of body) chunks.push(c as Buffer);
        got.push({ id, text: Buffer.concat(chunks).toString('latin1') });
      },
      { window: 8 },
    );
    expect(got.map((g) => g.id)).toEqual(ids);
    for (const { id, text } of got) {
      expect(text).toBe(`Subject: m${id}\r\n\r\nbody ${id} ${'x'.repeat(id * 50)}\r\n.${id}\r\n`);
    }
    await client.quit();
  });

  it('a consumer failure stops retrMany with that error, and the connection stays usable', async () => {
    const client = await connectPop3(account({ user: 'bob' }), { secret: 'bob-secret' });
    const err = await client
      .retrMany([1, 2, 3, 4, 5, 6], async (id) => {
        if (id === 2) throw new Error('disk full');
      })
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe('disk full');
    await client.noop();
    await client.quit();
  });

  it('RETR of a message that does not exist rejects with the server text; DELE then RSET keeps it', async () => {
    const client = await connectPop3(account({ user: 'bob' }), { secret: 'bob-secret' });
    await expect(client.retr(999, collector().sink)).rejects.toThrow(/RETR/);
    await client.dele(1);
    await expect(client.retr(1, collector().sink)).rejects.toThrow();
    await client.rset();
    expect((await client.stat()).count).toBe(40);
    await client.quit();
  });

  it('DELE is committed at QUIT', async () => {
    await dovecot.deliver('carol@example.test', 'Subject: gone\r\n\r\nbye\r\n');
    const a = account({ user: 'carol@example.test' });
    const secret = dovecot.users['carol@example.test']!;
    const first = await connectPop3(a, { secret });
    expect((await first.stat()).count).toBe(1);
    await first.dele(1);
    await first.quit();
    const second = await connectPop3(a, { secret });
    expect((await second.stat()).count).toBe(0);
    await second.quit();
  });

  it('a server that never greets: the timeout rejects and destroys the socket', async () => {
    const err = await connectPop3(account({ host: silent.host, port: silent.port, security: 'none' }), { secret: 'x', timeoutMs: 300 }).catch(
      (e: unknown) => e,
    );
    expect((err as MailboxError).code).toBe('ETIMEDOUT');
    expect((err as MailboxError).exitCode).toBe(75);
  });

  it('STARTTLS configured on the implicit-TLS port times out with a hint about the port', async () => {
    const err = await connectPop3(account({ port: dovecot.pop3sPort, security: 'starttls' }), { secret: 'x', timeoutMs: 500 }).catch((e: unknown) => e);
    expect((err as MailboxError).code).toBe('ETIMEDOUT');
    expect((err as MailboxError).hint).toContain('--security tls');
  });

  it('a timeout in the middle of a command rejects the command', async () => {
    const socket = await connectTcp(silent.host, silent.port);
    const client = new Pop3Client(socket, { timeoutMs: 200 });
    await expect(client.readGreeting()).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(socket.destroyed).toBe(true);
    await expect(client.noop()).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });
});
