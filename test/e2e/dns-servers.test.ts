// MAILBOX_DNS_SERVERS for every lookup the tool makes, not only discovery: `mailbox test` (our own
// sockets) and `mailbox run` (imapflow, our POP3 client, nodemailer; and the certificate fetch of a
// pinned account) reach servers whose names only the test DNS server knows, with the certificate
// checked against the name (SNI and verification keep the host name, not the address). So do the
// OAuth 2.0 token requests (authorize, and the refresh inside test and run), the LMTP hand-off of
// run (and its check in test) and the wizard's fetch of the certificate to pin.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USERS } from '../harness/index.js';
import { runMailbox, tmpHome } from '../helpers/cli.js';
import { a, OAUTH_CLIENT, startMailWorld, type MailWorld } from '../helpers/mail-domain.js';
import { onTerminal, pinTheCertificate } from '../helpers/pty.js';

const CAROL = 'carol@example.test';
let world: MailWorld;
const { home, cleanup } = tmpHome();
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  world = await startMailWorld({ lmtp: true, oauth: true });
  world.zone({ 'imap.example.test': a('127.0.0.1'), 'pop.example.test': a('127.0.0.1'), 'smtp.example.test': a('127.0.0.1'), 'auth.example.test': a('127.0.0.1'), 'lmtp.example.test': a('127.0.0.1') });
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

describe('MAILBOX_DNS_SERVERS beyond the mail protocols', () => {
  const own = tmpHome();
  const dir = own.home;
  afterAll(() => own.cleanup());
  const asked = (name: string) => world.dns.queries().filter((q) => q === `A ${name}`).length;

  it('OAuth 2.0: authorize (device flow) and the token refresh inside test and run reach the token endpoint by a name only the named servers know', async () => {
    const oauth = world.oauth!;
    oauth.onDevice = (code) => oauth.approveDevice(code, CAROL);
    const at = `https://auth.example.test:${new URL(oauth.origin).port}`;
    const tokenEnv: NodeJS.ProcessEnv = { ...env, MAILBOX_TOKEN_KEY: Buffer.alloc(32, 9).toString('base64') };
    const mbx = (args: string[], e: NodeJS.ProcessEnv = tokenEnv) => runMailbox(args, { home: dir, env: e, timeoutMs: 60_000 });
    const profile = await mbx(['oauth', 'add', 'dnsauth', '--provider', 'generic', '--client-id', OAUTH_CLIENT, '--token-url', `${at}/token`, '--device-url', `${at}/device`, '--auth-url', `${at}/authorize`, '--scope', 'mail', '--scope', 'offline_access']);
    expect(profile.code, profile.stderr).toBe(0);
    const add = await mbx(['add', '--type', 'imap', '--name', 'o-imap', '--host', 'imap.example.test', '--port', String(world.dovecot.imapsPort), '--user', CAROL, '--auth', 'oauth2', '--oauth', 'dnsauth', '--token-store', 'file', '--no-test']);
    expect(add.code, add.stderr).toBe(0);

    const { MAILBOX_DNS_SERVERS: _, ...system } = tokenEnv;
    const without = await mbx(['authorize', 'o-imap'], system);
    expect(without.code).toBe(69);
    expect(without.stderr).toContain('the authorization server cannot be reached');

    const before = asked('auth.example.test');
    const authorized = await mbx(['authorize', 'o-imap']);
    expect(authorized.code, authorized.stderr).toBe(0);
    expect(authorized.stderr).toContain('authorized o-imap with the device flow');
    expect(asked('auth.example.test')).toBeGreaterThan(before);

    // An access token the server forgot: test refreshes it (a token request) and logs in again.
    const refreshes = () => oauth.grants.refresh_token ?? 0;
    const start = refreshes();
    oauth.expireAccessTokens(CAROL);
    const test = await mbx(['test', 'o-imap', '--json']);
    expect(test.code, test.stdout + test.stderr).toBe(0);
    const [result] = JSON.parse(test.stdout) as { stages: { name: string; data?: { source?: string } }[] }[];
    expect(result!.stages.find((x) => x.name === 'token')!.data!.source).toBe('refreshed');
    expect(refreshes()).toBe(start + 1);

    // And run, whose token manager refreshes the same way before it reads.
    oauth.expireAccessTokens(CAROL);
    await world.dovecot.deliver(CAROL, 'Message-ID: <dns-oauth@test>\r\nFrom: x@example.test\r\nSubject: oauth via dns\r\n\r\nbody\r\n');
    const run = await mbx(['run', '--once', '--log-format', 'json', '--account', 'o-imap']);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n')[0]!)).toMatchObject({ account: 'o-imap', ok: true });
    expect(refreshes()).toBe(start + 2);
  }, 90_000);

  it('LMTP: run hands received mail to an LMTP server named only in the named servers, and test checks it there', async () => {
    const dest = `lmtp:lmtp.example.test:${world.dovecot.lmtpPort}`;
    const add = await runMailbox(['add', '--type', 'imap', '--name', 'to-lmtp', '--host', 'imap.example.test', '--port', String(world.dovecot.imapsPort), '--user', CAROL, '--password-env', 'PW', '--deliver', dest, '--no-test'], { home: dir, env });
    expect(add.code, add.stderr).toBe(0);
    const test = await runMailbox(['test', 'to-lmtp'], { home: dir, env });
    expect(test.code, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toContain(`LMTP lmtp.example.test:${world.dovecot.lmtpPort} answers LHLO`);

    await world.dovecot.doveadm(['expunge', '-u', CAROL, 'mailbox', 'INBOX', 'all']);
    await world.dovecot.deliver(CAROL, 'Message-ID: <dns-lmtp@test>\r\nFrom: x@example.test\r\nSubject: lmtp via dns\r\n\r\nbody\r\n');
    const before = asked('lmtp.example.test');
    const run = await runMailbox(['run', '--once', '--account', 'to-lmtp'], { home: dir, env });
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain(`1 new, 1 handed off to ${dest}`);
    expect(asked('lmtp.example.test')).toBeGreaterThan(before);
    // Handed to the account's own user: the copy is the one Dovecot's LMTP service stamped.
    const found = await world.dovecot.doveadm(['search', '-u', CAROL, 'mailbox', 'INBOX', 'header', 'message-id', '<dns-lmtp@test>', 'header', 'received', 'with LMTP']);
    expect(found.trim().split('\n').filter(Boolean)).toHaveLength(1);
  }, 60_000);

  it("the wizard's pin question fetches the certificate of a server named only in the named servers", async () => {
    const port = world.dovecot.imapsPort;
    const { code, screen } = await onTerminal(['add', '--type', 'imap', '--name', 'wiz-pin', '--host', 'imap.example.test', '--port', String(port), '--user', CAROL, '--password-env', 'PW'], {
      home: dir,
      env,
      timeoutMs: 30_000,
      answers: [
        ['Connection security', '\r'],
        ['Authentication', '\r'],
        ['IMAP folder', '\r'],
        ...pinTheCertificate(world.certs.fingerprint),
      ],
    });
    expect(screen).toContain(`imap.example.test:${port} presents CN=example.test, issued by CN=mailbox test CA`);
    expect(code, screen).toBe(0);
    expect(screen).toMatch(/connection test of wiz-pin: ok/);
  }, 60_000);
});
