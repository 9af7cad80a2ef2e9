// MAILBOX_DNS_SERVERS for every lookup the tool makes, not only discovery: `mailbox test` (our own
// sockets) and `mailbox run` (imapflow, our POP3 client, nodemailer; and the certificate fetch of a
// pinned account) reach servers whose names only the test DNS server knows, with the certificate
// checked against the name (SNI and verification keep the host name, not the address).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USERS } from '../harness/index.js';
import { runMailbox, tmpHome } from '../helpers/cli.js';
import { a, startMailWorld, type MailWorld } from '../helpers/mail-domain.js';

const CAROL = 'carol@example.test';
let world: MailWorld;
const { home, cleanup } = tmpHome();
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  world = await startMailWorld();
  world.zone({ 'imap.example.test': a('127.0.0.1'), 'pop.example.test': a('127.0.0.1'), 'smtp.example.test': a('127.0.0.1') });
  env = world.env({ PW: USERS[CAROL]! });
  const add = (...args: string[]) => runMailbox(['add', '--user', CAROL, '--password-env', 'PW', '--no-test', ...args], { home, env });
  for (const r of await Promise.all([
    add('--type', 'imap', '--name', 'in-imap', '--host', 'imap.example.test', '--port', String(world.dovecot.imapsPort)),
    add('--type', 'pop3', '--name', 'in-pop3', '--host', 'pop.example.test', '--port', String(world.dovecot.pop3Port), '--security', 'starttls'),
    add('--type', 'smtp', '--name', 'out', '--host', 'smtp.example.test', '--port', String(world.smtp.smtpsPort)),
  ])) expect(r.code, r.stderr).toBe(0);
});
afterAll(async () => {
  await world?.stop();
  cleanup();
});

describe('MAILBOX_DNS_SERVERS', () => {
  it('mailbox test resolves every account through the named servers; without them the names are not found (69)', async () => {
    const r = await runMailbox(['test', '--json'], { home, env });
    const results = JSON.parse(r.stdout) as { account: string; ok: boolean; stages: { name: string; detail: string }[] }[];
    expect(results.map((x) => `${x.account} ${x.ok}`).sort()).toEqual(['in-imap true', 'in-pop3 true', 'out true']);
    const imap = results.find((x) => x.account === 'in-imap')!;
    expect(imap.stages.find((s) => s.name === 'tls')!.detail).toContain('verified against the system trust store');
    expect(r.code).toBe(0);
    const { MAILBOX_DNS_SERVERS: _, ...system } = env;
    const without = await runMailbox(['test', 'in-imap'], { home, env: system });
    expect(without.code).toBe(69);
    expect(without.stderr + without.stdout).toContain('host imap.example.test not found');
  });

  it('mailbox run reads over IMAP and POP3 and sends over SMTP through the libraries, which connect to the address resolved and check the certificate by name', async () => {
    await world.dovecot.deliver(CAROL, 'Message-ID: <dns1@test>\r\nFrom: x@example.test\r\nSubject: via dns\r\n\r\nbody\r\n');
    const queued = await runMailbox(['send', '--to', 'bob@example.test', '--subject', 'out via dns', '--text', 'hello'], { home, env });
    expect(queued.code, queued.stderr).toBe(0);
    const r = await runMailbox(['run', '--once', '--log-format', 'json'], { home, env });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const reports = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { account: string; ok: boolean });
    expect(reports.filter((x) => !x.ok)).toEqual([]);
    expect(reports.map((x) => x.account).sort()).toEqual(['in-imap', 'in-pop3', 'out']);
    const sent = await world.smtp.waitForMessages(1);
    expect(sent[0]!.raw.toString()).toContain('Subject: out via dns');
    expect(sent[0]!.tls).toBe(true);
    const inbox = path.join(home, 'mail', 'inbox', 'new');
    expect(fs.readdirSync(inbox).length).toBeGreaterThanOrEqual(1);
  });

  it('a pinned account: the certificate fetch before the library connects resolves through the named servers too', async () => {
    const pinned = await runMailbox(['add', '--type', 'imap', '--name', 'pinned', '--host', 'imap.example.test', '--port', String(world.dovecot.imapsPort), '--user', CAROL, '--password-env', 'PW', '--fingerprint', world.certs.fingerprint, '--inactive', '--no-test'], { home, env });
    expect(pinned.code, pinned.stderr).toBe(0);
    await runMailbox(['deactivate', 'in-imap'], { home, env });
    await runMailbox(['deactivate', 'in-pop3'], { home, env });
    await runMailbox(['activate', 'pinned'], { home, env });
    const r = await runMailbox(['run', '--once', '--log-format', 'json', '--account', 'pinned'], { home, env });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n')[0]!)).toMatchObject({ account: 'pinned', ok: true });
  });
});
