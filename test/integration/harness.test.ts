// The harness itself: every server greets on every port, delivery is byte-exact, stop() leaves nothing.
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closedPort,
  noSecretServiceEnv,
  pgrep,
  probeKeyring,
  startDovecot,
  startSecretService,
  startSilentServer,
  startSmtp,
  type Dovecot,
  type PlainDovecot,
  type SecretService,
  type SmtpServer,
} from '../harness/index.js';

const HOST = '127.0.0.1';

/** A raw client: collects every byte; `until` waits for a pattern in what came since the last call. */
async function connect(port: number, ca?: string) {
  const socket = ca ? tls.connect({ host: HOST, port, ca: readFileSync(ca) }) : net.connect(port, HOST);
  await new Promise<void>((resolve, reject) => {
    socket.once(ca ? 'secureConnect' : 'connect', () => resolve());
    socket.once('error', reject);
  });
  let buf = Buffer.alloc(0);
  let from = 0;
  socket.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
  return {
    socket,
    async until(re: RegExp, timeoutMs = 5000): Promise<Buffer> {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(buf.subarray(from).toString('latin1'))) {
        if (Date.now() > deadline) throw new Error(`timeout waiting for ${re}; got ${JSON.stringify(buf.subarray(from).toString('latin1'))}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      const out = buf.subarray(from);
      from = buf.length;
      return out;
    },
    send(line: string) {
      socket.write(line + '\r\n');
    },
    close() {
      socket.destroy();
    },
  };
}

async function greetingOf(port: number, ca?: string): Promise<string> {
  const c = await connect(port, ca);
  try {
    return (await c.until(/\r\n/)).toString('latin1');
  } finally {
    c.close();
  }
}

/** POP3 RETR n as the server's bytes after dot-unstuffing (the framing line and final "." removed). */
async function pop3Retr(port: number, user: string, pass: string, n: number): Promise<Buffer> {
  const c = await connect(port);
  try {
    await c.until(/^\+OK.*\r\n/);
    c.send(`USER ${user}`);
    await c.until(/^\+OK.*\r\n/);
    c.send(`PASS ${pass}`);
    expect((await c.until(/\r\n/)).toString('latin1')).toMatch(/^\+OK/);
    c.send(`RETR ${n}`);
    const reply = (await c.until(/\r\n\.\r\n$/)).toString('latin1');
    c.send('QUIT');
    const body = reply.slice(reply.indexOf('\r\n') + 2, -'.\r\n'.length);
    return Buffer.from(body.replace(/^\.\./gm, '.'), 'latin1');
  } finally {
    c.close();
  }
}

describe('Dovecot', () => {
  let d: Dovecot;
  beforeAll(async () => {
    d = await startDovecot();
  });
  afterAll(async () => d?.stop());

  it('greets on IMAP, IMAPS, POP3, POP3S and offers STARTTLS/STLS', async () => {
    expect(await greetingOf(d.imapPort)).toMatch(/^\* OK \[CAPABILITY [^\]]*STARTTLS/);
    expect(await greetingOf(d.imapsPort, d.caFile)).toMatch(/^\* OK /);
    expect(await greetingOf(d.pop3sPort, d.caFile)).toMatch(/^\+OK /);
    const c = await connect(d.pop3Port);
    await c.until(/^\+OK.*\r\n/);
    c.send('CAPA');
    const capa = (await c.until(/\r\n\.\r\n/)).toString();
    expect(capa).toMatch(/\r\nSTLS\r\n/);
    expect(capa).toMatch(/\r\nPIPELINING\r\n/);
    c.close();
  });

  it('presents the certificate whose fingerprint it reports', async () => {
    const s = tls.connect({ host: HOST, port: d.imapsPort, ca: readFileSync(d.caFile) });
    await new Promise((r) => s.once('secureConnect', r));
    expect(s.authorized).toBe(true);
    expect(s.getPeerCertificate().fingerprint256).toBe(d.fingerprint);
    s.destroy();
  });

  it('delivers bytes exactly: 8-bit, a leading dot, CRLF; LF input is served as CRLF', async () => {
    const crlf = Buffer.concat([
      Buffer.from('From: a@example.test\r\nSubject: bytes\r\n\r\n'),
      Buffer.from([0xe9, 0xff, 0x80, 0x0d, 0x0a]), // 8-bit, not valid UTF-8
      Buffer.from('.leading dot\r\n..two dots\r\n.\r\nend\r\n'),
    ]);
    const user = 'carol@example.test';
    await d.deliver(user, crlf);
    expect(await pop3Retr(d.pop3Port, user, d.users[user]!, 1)).toEqual(crlf);

    const lf = Buffer.from(crlf.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    await d.deliver('bob', lf);
    expect(await pop3Retr(d.pop3Port, 'bob', d.users.bob!, 1)).toEqual(crlf);
    expect(await d.doveadm(['mailbox', 'status', '-u', 'bob', 'messages', 'INBOX'])).toMatch(/messages=1/);
  });
});

describe('Dovecot without STARTTLS', () => {
  let d: PlainDovecot;
  beforeAll(async () => {
    d = await startDovecot({ starttls: false });
  });
  afterAll(async () => d?.stop());

  it('does not offer STARTTLS (IMAP) nor STLS (POP3), still logs in', async () => {
    const imap = await greetingOf(d.imapPort);
    expect(imap).toMatch(/^\* OK \[CAPABILITY /);
    expect(imap).not.toMatch(/STARTTLS/);
    const c = await connect(d.pop3Port);
    await c.until(/^\+OK.*\r\n/);
    c.send('CAPA');
    expect((await c.until(/\r\n\.\r\n/)).toString()).not.toMatch(/STLS/);
    c.close();
    await d.deliver('alice', 'Subject: x\n\nhi\n');
    expect((await pop3Retr(d.pop3Port, 'alice', 'alice-secret', 1)).toString()).toBe('Subject: x\r\n\r\nhi\r\n');
  });
});

describe('SMTP', () => {
  let s: SmtpServer;
  beforeAll(async () => {
    s = await startSmtp();
  });
  afterAll(async () => s?.stop());

  it('greets on the plain and the TLS port; EHLO offers STARTTLS, AUTH, SIZE', async () => {
    expect(await greetingOf(s.smtpsPort, s.caFile)).toMatch(/^220 /);
    const c = await connect(s.smtpPort);
    expect((await c.until(/\r\n/)).toString()).toMatch(/^220 /);
    c.send('EHLO test');
    const ehlo = (await c.until(/^250 .*\r\n/m)).toString();
    expect(ehlo).toMatch(/STARTTLS/);
    expect(ehlo).toMatch(/AUTH PLAIN LOGIN/);
    expect(ehlo).toMatch(/SIZE 10485760/);
    c.close();
  });

  it('stores what it accepts byte for byte, and injects faults by recipient', async () => {
    const raw = Buffer.concat([Buffer.from('Subject: t\r\n\r\n.dot\r\n'), Buffer.from([0xe9, 0xff]), Buffer.from('\r\n')]);
    const t = nodemailer.createTransport({
      host: HOST,
      port: s.smtpPort,
      requireTLS: true,
      tls: { ca: readFileSync(s.caFile) },
      auth: { user: 'carol@example.test', pass: s.users['carol@example.test']! },
    });
    await t.sendMail({ envelope: { from: 'carol@example.test', to: ['bob@example.test'] }, raw });
    await expect(t.sendMail({ envelope: { from: 'a@example.test', to: ['reject-1@example.test'] }, raw })).rejects.toMatchObject({ responseCode: 550 });
    await expect(t.sendMail({ envelope: { from: 'a@example.test', to: ['defer-1@example.test'] }, raw })).rejects.toMatchObject({ responseCode: 451 });
    t.close();
    const [m] = await s.waitForMessages(1);
    expect(m).toMatchObject({ from: 'carol@example.test', to: ['bob@example.test'], user: 'carol@example.test', tls: true });
    expect(m!.raw).toEqual(raw);
    expect(s.messages()).toHaveLength(1);
  });

  it('can stay silent instead of greeting', async () => {
    await s.setGreeting('never');
    const c = await connect(s.smtpPort);
    await expect(c.until(/./, 300)).rejects.toThrow(/timeout/);
    c.close();
    await s.setGreeting(0);
    expect(await greetingOf(s.smtpPort)).toMatch(/^220 /);
  });

  it('noStarttls hides STARTTLS', async () => {
    const p = await startSmtp({ noStarttls: true });
    try {
      const c = await connect(p.smtpPort);
      await c.until(/\r\n/);
      c.send('EHLO test');
      expect((await c.until(/^250 .*\r\n/m)).toString()).not.toMatch(/STARTTLS/);
      c.close();
    } finally {
      await p.stop();
    }
  });
});

describe('Secret Service', () => {
  let ss: SecretService;
  beforeAll(async () => {
    ss = await startSecretService();
  });
  afterAll(async () => ss?.stop());

  it('round-trips a password through @napi-rs/keyring', async () => {
    expect(await probeKeyring({ ...ss.env })).toMatchObject({ ok: true, value: 'probe-secret é' });
  });

  it('without one, a pinned secret-service store throws at once', async () => {
    const r = await probeKeyring(noSecretServiceEnv(), 'secret-service');
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/DBus error/);
    expect(r.ms).toBeLessThan(2000);
  });
});

describe('misbehaving endpoints', () => {
  it('a silent server accepts and never speaks', async () => {
    const srv = await startSilentServer();
    const c = await connect(srv.port);
    await expect(c.until(/./, 200)).rejects.toThrow(/timeout/);
    expect(srv.connections()).toBe(1);
    c.close();
    await srv.stop();
  });

  it('a closed port refuses', async () => {
    const port = await closedPort();
    await expect(connect(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('stop()', () => {
  it('leaves no process and no directory behind', async () => {
    const [d, p, s, ss] = await Promise.all([startDovecot(), startDovecot({ starttls: false }), startSmtp(), startSecretService()]);
    const tags = [d.dir, p.dir, s.dir].map((dir) => path.basename(dir));
    for (const tag of tags) expect((await pgrep(tag)).length).toBeGreaterThan(0);
    await Promise.all([d.stop(), p.stop(), s.stop(), ss.stop(), d.stop()]); // twice: idempotent
    for (const tag of tags) expect(await pgrep(tag)).toEqual([]);
    for (const pid of [ss.pids.bus, ss.pids.keyring!]) expect(() => process.kill(pid, 0)).toThrow();
    for (const dir of [d.dir, p.dir, s.dir, ss.dir]) expect(existsSync(dir)).toBe(false);
  });
});
