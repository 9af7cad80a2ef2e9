// The project's POP3 client against a real Dovecot: STLS, CAPA, USER/PASS, AUTH PLAIN and LOGIN,
// byte-exact RETR, pipelined RETR through the reader, timeouts.
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hintText } from '../../src/cli/hints.js';
import type { Account } from '../../src/core/account.js';
import { MailboxError } from '../../src/core/errors.js';
import { Peer } from '../../src/protocols/net/peer.js';
import { connectTcp } from '../../src/protocols/net/socket.js';
import { Pop3Client } from '../../src/protocols/pop3/client.js';
import { connectPop3 } from '../../src/protocols/pop3/connect.js';
import { pop3Login, type Pop3Mechanism } from '../../src/protocols/pop3/login.js';
import { openPop3Reader } from '../../src/protocols/pop3/reader.js';
import type { MessageBody } from '../../src/protocols/types.js';
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

async function bytesOf(body: Readable | MessageBody): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A plain connection to Dovecot's POP3 port, greeted, CAPA read: for logging in by hand. */
async function plainClient(options: { timeoutMs?: number; host?: string; port?: number } = {}): Promise<Pop3Client> {
  const a = account({ host: options.host ?? dovecot.host, port: options.port ?? dovecot.pop3Port, security: 'none' });
  const peer = new Peer(a);
  const client = new Pop3Client(await connectTcp(peer, a.host), peer, { timeoutMs: options.timeoutMs });
  await client.readGreeting();
  await client.capa();
  return client;
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
  it('implicit TLS, CAPA, AUTH SCRAM-SHA-256 (preferred over PLAIN, issue 9), STAT, UIDL, LIST and byte-exact RETR', async () => {
    const lines: string[] = [];
    const client = await connectPop3(account(), { secret: 'alice-secret', tap: (d, l) => lines.push(`${d} ${l}`) });
    expect('encrypted' in client.socket).toBe(true);
    expect(client.capabilities!.has('PIPELINING')).toBe(true);
    expect(lines.some((l) => l.startsWith('C AUTH SCRAM-SHA-256 '))).toBe(true);
    const stat = await client.stat();
    expect(stat.count).toBe(1);
    const uidl = await client.uidl();
    expect(uidl).toHaveLength(1);
    expect(uidl[0]!.uid).toMatch(/\S+/);
    expect(await client.uidlOne(1)).toBe(uidl[0]!.uid);
    const list = await client.list();
    expect(list[0]!.size).toBe(stat.size);
    expect((await bytesOf(await client.retrStream(1))).equals(TRICKY)).toBe(true);
    await client.quit();
  });

  it('STLS on the plain port: the session is encrypted and capabilities are read again', async () => {
    const client = await connectPop3(account({ port: dovecot.pop3Port, security: 'starttls', user: 'carol@example.test' }), { secret: dovecot.users['carol@example.test']! });
    expect('encrypted' in client.socket).toBe(true);
    expect(client.capabilities!.has('STLS')).toBe(false); // re-read after TLS
    expect(await client.stat()).toEqual({ count: 0, size: 0 });
    await client.quit();
  });

  it.each([
    ['USER', {}],
    ['PLAIN', { initialResponse: false }],
    ['PLAIN', {}],
    ['LOGIN', {}],
    ['CRAM-MD5', {}],
    ['SCRAM-SHA-256', {}],
    ['SCRAM-SHA-256', { initialResponse: false }],
  ] as [Pop3Mechanism, { initialResponse?: boolean }][])('logs in with %s %j for the password with space, quote, @ and UTF-8', async (mechanism, options) => {
    const client = await plainClient();
    await pop3Login(client, mechanism, 'carol@example.test', dovecot.users['carol@example.test']!, options);
    expect((await client.stat()).count).toBe(0);
    await client.quit();
  });

  it('a wrong password with each mechanism: EAUTH naming the user and what the server offers', async () => {
    for (const mechanism of ['USER', 'PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256'] as const) {
      const client = await plainClient();
      const err = await pop3Login(client, mechanism, 'alice', 'wrong').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MailboxError);
      expect((err as MailboxError).code).toBe('EAUTH');
      client.close();
    }
    const err = await connectPop3(account(), { secret: 'wrong' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailboxError);
    expect((err as MailboxError).code).toBe('EAUTH');
    expect((err as MailboxError).exitCode).toBe(77);
    expect((err as MailboxError).message).toContain('alice');
    expect((err as MailboxError).hint).toContain('PLAIN');
  });

  it('the reader pipelines RETR for many messages: in order, byte-exact', async () => {
    const reader = await openPop3Reader(account({ user: 'bob' }), { secret: 'bob-secret', window: 8 });
    const messages = await reader.list();
    expect(messages).toHaveLength(40);
    const got: { n: number; text: string }[] = [];
    await reader.fetch(messages, async (m, body) => {
      got.push({ n: m.n, text: (await bytesOf(body)).toString('latin1') });
    });
    expect(got.map((g) => g.n)).toEqual(messages.map((m) => m.n));
    for (const { n, text } of got) expect(text).toBe(`Subject: m${n}\r\n\r\nbody ${n} ${'x'.repeat(n * 50)}\r\n.${n}\r\n`);
    await reader.close();
  });

  it('a consumer failure stops the fetch with that error, and the connection stays usable', async () => {
    const reader = await openPop3Reader(account({ user: 'bob' }), { secret: 'bob-secret' });
    const err = await reader
      .fetch((await reader.list()).slice(0, 6), async (m, body) => {
        await bytesOf(body);
        if (m.n === 2) throw new Error('disk full');
      })
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe('disk full');
    expect((await reader.status()).count).toBe(40);
    await reader.close();
  });

  it('RETR of a message that does not exist rejects with the server text', async () => {
    const client = await connectPop3(account({ user: 'bob' }), { secret: 'bob-secret' });
    await expect(client.retrStream(999)).rejects.toThrow(/RETR/);
    await client.dele(1);
    await expect(client.retrStream(1)).rejects.toThrow();
    expect((await client.stat()).count).toBe(39);
    client.close(); // without QUIT: the deletion is not committed
    const again = await connectPop3(account({ user: 'bob' }), { secret: 'bob-secret' });
    expect((await again.stat()).count).toBe(40);
    await again.quit();
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
    expect(hintText(err as MailboxError)).toContain('mailbox edit pop --security tls');
  });

  it('a timeout in the middle of a command rejects the command', async () => {
    const peer = new Peer(account({ host: silent.host, port: silent.port, security: 'none' }));
    const socket = await connectTcp(peer, silent.host);
    const client = new Pop3Client(socket, peer, { timeoutMs: 200 });
    await expect(client.readGreeting()).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(socket.destroyed).toBe(true);
    await expect(client.stat()).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });
});
