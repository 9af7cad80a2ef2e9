// `mailbox test` and the POP3 client against other real servers than the suite's Dovecot and
// smtp-server: Exim (SMTP), Cyrus IMAP (IMAP, POP3), Courier-IMAP (PREAUTH). Opt-in: each block
// skips, with the reason in its name, when the server is not available (see test/harness/peers.ts).
import fs from 'node:fs';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account, AccountType, Security } from '../../src/core/account.js';
import { connectPop3 } from '../../src/protocols/pop3/connect.js';
import { openPop3Reader } from '../../src/protocols/pop3/reader.js';
import { probeAccount, type ProbeResult } from '../../src/protocols/probe/index.js';
import { peerMissing, startCourierPreauth, startCyrus, startExim, type PeerServer } from '../harness/peers.js';

function account(peer: PeerServer, type: AccountType, security: Security, over: Partial<Account> = {}): Account {
  const port = peer.ports[security === 'tls' ? `${type}s` : type]!;
  return {
    name: `${peer.name}-${type}-${security}`,
    type,
    host: peer.host,
    port,
    security,
    auth: 'password',
    user: 'alice',
    secret: { kind: 'env', name: 'PW' },
    active: true,
    debug: false,
    tls: { ca: peer.certs.caFile },
    ...(type === 'imap' ? { folder: 'INBOX' } : {}),
    ...over,
  };
}

function probe(peer: PeerServer, a: Account, extra: { sendTo?: string } = {}): Promise<ProbeResult> {
  const secret = peer.users[a.user ?? ''] ?? '';
  return probeAccount(a, { secret: async () => secret, timeoutMs: 10_000, ...extra });
}

function ok(result: ProbeResult): ProbeResult {
  expect(result.error, `${result.account}: ${result.error?.message}\n${JSON.stringify(result.stages, null, 1)}`).toBeNull();
  return result;
}

function detail(result: ProbeResult, stage: string): string {
  return result.stages.find((s) => s.name === stage)?.detail ?? '';
}

const exim = peerMissing('exim');
describe.skipIf(exim)(`Exim${exim ? ` (skipped: ${exim})` : ''}`, () => {
  let peer: PeerServer;
  beforeAll(async () => {
    peer = await startExim();
  });
  afterAll(() => peer?.stop());

  it('starttls, tls and none pass; none warns about the plaintext password', async () => {
    const [starttls, tls, none] = await Promise.all(['starttls', 'tls', 'none'].map((s) => probe(peer, account(peer, 'smtp', s as Security))));
    for (const r of [starttls!, tls!, none!]) ok(r);
    expect(detail(starttls!, 'tls')).toMatch(/verified against the account's CA file/);
    expect(detail(tls!, 'capabilities')).toContain('will use PLAIN');
    expect(detail(tls!, 'probe')).toContain('20971520');
    expect(none!.warnings.join(' ')).toMatch(/clear text/);
  });

  it('a password with a space, a quote and UTF-8 logs in; a wrong one is 77', async () => {
    ok(await probe(peer, account(peer, 'smtp', 'starttls', { user: 'carol@example.test' })));
    const wrong = await probeAccount(account(peer, 'smtp', 'tls'), { secret: async () => 'wrong', timeoutMs: 10_000 });
    expect({ exit: wrong.exitCode, stage: wrong.stages.at(-1)?.name }).toEqual({ exit: 77, stage: 'login' });
  });

  it('--send-to delivers one message through Exim', async () => {
    const result = ok(await probe(peer, account(peer, 'smtp', 'starttls', { from: 'alice@example.test' }), { sendTo: 'bob@example.test' }));
    expect(detail(result, 'send')).toMatch(/250/);
    const file = path.join(peer.dir, 'mail', 'inbox'); // every recipient's mail lands in one file
    await expect.poll(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8'), { timeout: 5000 }).toMatch(/mailbox test message from account/);
  });
});

const cyrus = peerMissing('cyrus');
describe.skipIf(cyrus)(`Cyrus IMAP${cyrus ? ` (skipped: ${cyrus})` : ''}`, () => {
  let peer: PeerServer;
  /** 8-bit body bytes, lines that start with dots, a lone "." line: must come back byte for byte. */
  const tricky = Buffer.concat([
    Buffer.from('From: bob@example.test\r\nTo: alice@example.test\r\nSubject: tricky\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'),
    Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xff, 0x0d, 0x0a]),
    Buffer.from('.one dot\r\n..two dots\r\n.\r\nend\r\n'),
  ]);
  beforeAll(async () => {
    peer = await startCyrus();
    const imap = new ImapFlow({ host: peer.host, port: peer.ports.imaps!, secure: true, auth: { user: 'alice', pass: peer.users.alice! }, tls: { ca: [fs.readFileSync(peer.certs.caFile)] }, logger: false });
    await imap.connect();
    await imap.append('INBOX', tricky);
    for (let i = 1; i <= 5; i++) await imap.append('INBOX', `Subject: m${i}\r\n\r\nbody ${i}\r\n`);
    await imap.logout();
  });
  afterAll(() => peer?.stop());

  it('IMAP probe: tls, starttls and none pass and report the folder', async () => {
    const results = await Promise.all((['tls', 'starttls', 'none'] as const).map((s) => probe(peer, account(peer, 'imap', s))));
    for (const r of results) ok(r);
    expect(detail(results[0]!, 'probe')).toMatch(/^INBOX: 6 messages, UIDVALIDITY \d+, UIDNEXT 7$/);
  });

  it('POP3 probe: tls and starttls pass, UIDL checked; a wrong password is 77', async () => {
    const results = await Promise.all((['tls', 'starttls'] as const).map((s) => probe(peer, account(peer, 'pop3', s))));
    for (const r of results) ok(r);
    expect(detail(results[0]!, 'probe')).toContain('6 messages');
    expect(detail(results[0]!, 'probe')).toContain('UIDL supported');
    const wrong = await probeAccount(account(peer, 'pop3', 'tls'), { secret: async () => 'wrong', timeoutMs: 10_000 });
    expect({ exit: wrong.exitCode, stage: wrong.stages.at(-1)?.name }).toEqual({ exit: 77, stage: 'login' });
  });

  it('POP3 client: login, STAT, UIDL, byte-exact RETR; the reader pipelines RETR of the rest', async () => {
    const client = await connectPop3(account(peer, 'pop3', 'starttls'), { secret: peer.users.alice! });
    const stat = await client.stat();
    expect(stat.count).toBe(6);
    const uidl = await client.uidl();
    expect(new Set(uidl.map((u) => u.uid)).size).toBe(6);
    const chunks: Buffer[] = [];
    for await (const c of await client.retrStream(1)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(tricky)).toBe(true);
    await client.quit();
    const reader = await openPop3Reader(account(peer, 'pop3', 'starttls'), { secret: peer.users.alice! });
    const bodies: string[] = [];
    await reader.fetch((await reader.list()).slice(1), async (_m, body) => {
      const parts: Buffer[] = [];
      for await (const c of body as AsyncIterable<Buffer>) parts.push(c);
      bodies.push(Buffer.concat(parts).toString());
    });
    expect(bodies).toEqual([1, 2, 3, 4, 5].map((i) => `Subject: m${i}\r\n\r\nbody ${i}\r\n`));
    await reader.close();
  });
});

const courier = peerMissing('courier');
describe.skipIf(courier)(`Courier-IMAP${courier ? ` (skipped: ${courier})` : ''}`, () => {
  let peer: PeerServer;
  beforeAll(async () => {
    peer = await startCourierPreauth();
  });
  afterAll(() => peer?.stop());

  it('a PREAUTH greeting after an [ALERT] line: no login sent, the alert shown, the folder opened', async () => {
    const result = ok(await probe(peer, account(peer, 'imap', 'none')));
    expect(detail(result, 'login')).toMatch(/PREAUTH/);
    expect(detail(result, 'probe')).toMatch(/^INBOX: 0 messages/);
    expect(result.warnings.join('\n')).toMatch(/the server says: Filesystem notification initialization error/);
  });

  it('the same server with starttls configured: refused, it can never be encrypted', async () => {
    const result = await probe(peer, account(peer, 'imap', 'starttls', { port: peer.ports.imap! }));
    expect({ exit: result.exitCode, stage: result.stages.at(-1)?.name }).toEqual({ exit: 76, stage: 'tls' });
    expect(result.error!.message).toMatch(/PREAUTH/);
  });
});
