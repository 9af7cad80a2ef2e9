// From the address to a saved account: `mailbox add --discover` (flags given win) and the wizard,
// which asks for the address first and offers the verified servers, driven through its prompts on a
// real terminal to an account that `mailbox test` passes. The servers are Dovecot and the SMTP server
// behind names only the test DNS knows.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USERS } from '../harness/index.js';
import { runMailbox, tmpHome } from '../helpers/cli.js';
import { a, clientConfig, startMailWorld, type MailWorld } from '../helpers/mail-domain.js';
import { DOWN, ENTER, Terminal } from '../helpers/terminal.js';

const CAROL = 'carol@example.test';
let world: MailWorld;
let env: NodeJS.ProcessEnv;
const { home, cleanup } = tmpHome();

beforeAll(async () => {
  world = await startMailWorld();
  world.zone({
    '_imaps._tcp.example.test': [{ type: 'SRV', target: 'imap.example.test', port: world.dovecot.imapsPort }],
    '_pop3s._tcp.example.test': [{ type: 'SRV', target: 'imap.example.test', port: world.dovecot.pop3sPort }],
    '_submissions._tcp.example.test': [{ type: 'SRV', target: 'smtp.example.test', port: world.smtp.smtpsPort }],
    '_submission._tcp.example.test': [{ type: 'SRV', target: 'smtp.example.test', port: world.smtp.smtpPort }],
    'imap.example.test': a('127.0.0.1'),
    'smtp.example.test': a('127.0.0.1'),
  });
  env = world.env({ PW: USERS[CAROL]!, MAILBOX_HOME: home });
});
afterAll(async () => {
  await world?.stop();
  cleanup();
});

function config(): { accounts: Record<string, unknown>[] } {
  return JSON.parse(fs.readFileSync(path.join(home, 'config.json'), 'utf8')) as { accounts: Record<string, unknown>[] };
}

describe('mailbox add --discover', () => {
  it('takes the best verified server of the type, says where it came from, fills in the rest, tests the login and saves', async () => {
    const r = await runMailbox(['add', '--discover', CAROL, '--type', 'imap', '--password-env', 'PW'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`discovered imap imap.example.test:${world.dovecot.imapsPort} tls, auth password, user ${CAROL} (from srv: SRV _imaps._tcp.example.test; verified)`);
    expect(r.stderr).toContain('connection test of example.test-imap: ok');
    expect(config().accounts.find((x) => x.name === 'example.test-imap')).toMatchObject({ type: 'imap', host: 'imap.example.test', port: world.dovecot.imapsPort, security: 'tls', auth: 'password', user: CAROL });
  });

  it('flags given explicitly win over what was discovered', async () => {
    const r = await runMailbox(['add', '--discover', CAROL, '--type', 'smtp', '--name', 'out', '--security', 'starttls', '--port', String(world.smtp.smtpPort), '--password-env', 'PW', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).account).toMatchObject({ name: 'out', type: 'smtp', host: 'smtp.example.test', port: world.smtp.smtpPort, security: 'starttls', user: CAROL, from: CAROL });
  });

  it('a password given wins over a server that wants OAuth 2.0: the account logs in with it, and a warning says what the server wants', async () => {
    world.ispdb.page('127.0.0.1', '/v1.1/ispdb.test', {
      body: clientConfig('ispdb.test', [{ type: 'imap', host: 'imap.example.test', port: world.dovecot.imapsPort, socketType: 'SSL', auth: 'OAuth2' }], 'login.microsoftonline.com'),
    });
    const r = await runMailbox(['add', '--discover', 'carol@ispdb.test', '--type', 'imap', '--name', 'app-password', '--user', CAROL, '--password-env', 'PW', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('imap.example.test wants OAuth 2.0 (microsoft); the account logs in with the password given');
    expect(JSON.parse(r.stdout).account).toMatchObject({ name: 'app-password', host: 'imap.example.test', auth: 'password', user: CAROL });
  });

  it('nothing found: 69, and the hint says how to see why', async () => {
    const r = await runMailbox(['add', '--discover', 'nobody@nowhere.test', '--type', 'imap', '--password-env', 'PW'], { env });
    expect(r.code).toBe(69);
    expect(r.stderr).toContain('no imap server found for nobody@nowhere.test');
    expect(r.stderr).toContain('mailbox discover nobody@nowhere.test --type imap shows what each source found and why');
    const bad = await runMailbox(['add', '--discover', 'not-an-address', '--password-env', 'PW'], { env });
    expect(bad.code).toBe(65);
    expect(bad.stderr).toContain('invalid discover "not-an-address"');
  });
});

describe('the wizard starts from the address', () => {
  it('offers the verified servers, every value still editable, to a saved account that mailbox test passes', async () => {
    const t = new Terminal(['add'], env);
    await t.answer('Email address', `${CAROL}${ENTER}`);
    await t.answer(`Verified servers of ${CAROL}`, ENTER, 20_000);
    await t.answer('Account name (example.test-imap)', `wiz${ENTER}`);
    await t.answer('Server host name (imap.example.test)', ENTER);
    await t.answer('Connection security', ENTER);
    await t.answer(`Port (${world.dovecot.imapsPort})`, ENTER);
    await t.answer('Authentication', ENTER);
    await t.answer(`User name (${CAROL})`, ENTER);
    await t.answer('Password source', ENTER);
    await t.answer('Environment variable', `PW${ENTER}`);
    await t.answer('IMAP folder (INBOX)', ENTER);
    await t.answer('Change advanced settings', ENTER);
    expect(await t.close()).toBe(0);
    expect(t.transcript).toContain('connection test of wiz: ok');
    expect(t.transcript).toContain('added imap account wiz (active)');
    expect(config().accounts.find((x) => x.name === 'wiz')).toMatchObject({ host: 'imap.example.test', port: world.dovecot.imapsPort, security: 'tls', user: CAROL, secret: { kind: 'env', name: 'PW' } });
    const test = await runMailbox(['test', 'wiz'], { env });
    expect(test.code, test.stdout + test.stderr).toBe(0);
  });

  it('entering the servers by hand is one keystroke away: Enter alone at the address, or "e" in the list', async () => {
    const blank = new Terminal(['add'], env);
    await blank.answer('Email address', ENTER);
    await blank.answer('Account type', '\u0003');
    expect(await blank.close()).toBe(130);
    const listed = new Terminal(['add'], env);
    await listed.answer('Email address', `${CAROL}${ENTER}`);
    await listed.answer(`Verified servers of ${CAROL}`, 'e', 20_000);
    await listed.answer('❯ enter the servers by hand', ENTER);
    await listed.answer('Account type', '\u0003');
    expect(await listed.close()).toBe(130);
  });
});
