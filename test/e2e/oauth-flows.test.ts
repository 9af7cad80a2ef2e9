// OAuth 2.0 accounts end to end, each flow from `mailbox authorize` to a `mailbox run --once` that
// downloads (IMAP, POP3: Dovecot checks the token against the test server's introspection) and sends
// (the SMTP server checks it too); and no token in any output or file.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readTree, runMailbox } from '../helpers/cli.js';
import { accountArgs, APP_CLIENT, profileArgs, startMailbox, until, type OAuthWorld, useOAuthWorld } from '../helpers/oauth-world.js';

const shared = useOAuthWorld();
const home = shared.home;
let world: OAuthWorld;
beforeAll(() => {
  world = shared.world();
});

const mbx = (dir: string, args: string[], input?: string) => runMailbox(args, { home: dir, env: world.env, input, timeoutMs: 60_000 });

async function setup(dir: string, profile: string[], prefix: string, which: string[] = ['imap', 'pop', 'smtp']): Promise<void> {
  const p = await mbx(dir, profile);
  expect(p.stderr + p.stdout, 'oauth add').toMatch(/added OAuth profile/);
  for (const args of accountArgs(world, profile[2]!, prefix).filter((a) => which.some((w) => a[4] === `${prefix}-${w}`))) {
    const r = await mbx(dir, args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('is not authorized yet, so its login was not tested');
  }
}

async function deliver(n: number, tag: string): Promise<void> {
  await world.dovecot.doveadm(['expunge', '-u', 'alice', 'mailbox', 'INBOX', 'all']).catch(() => undefined);
  for (let i = 0; i < n; i++) await world.dovecot.deliver('alice', `Message-ID: <${tag}${i}@test>\r\nFrom: x@example.test\r\nSubject: ${tag} ${i}\r\n\r\nbody\r\n`);
}

/** `mailbox run --once` after a message was queued: everything downloaded and sent, as JSON lines. */
async function runOnce(dir: string, tag: string) {
  const sentBefore = world.smtp.messages().length;
  expect((await mbx(dir, ['send', '--to', 'bob@example.test', '--subject', tag, '--text', 'via oauth'])).code).toBe(0);
  const r = await mbx(dir, ['run', '--once', '--log-format', 'json']);
  const lines = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const sent = world.smtp.messages().slice(sentBefore);
  return { r, lines, sent };
}

/** Every access and refresh token the server handed out: none may be in what mailbox wrote or printed. */
function assertNoToken(dir: string, ...outputs: string[]): void {
  const everything = readTree(dir) + outputs.join('\n');
  const tokens = world.oauth.issued();
  expect(tokens.length).toBeGreaterThan(0);
  for (const token of tokens) {
    expect(everything.includes(token), `a token leaked: ${token.slice(0, 12)}...`).toBe(false);
    expect(everything.includes(Buffer.from(token).toString('base64').slice(8, 48))).toBe(false);
  }
}

/** The test "browser": follows the authorization URL; returns the redirect it was sent to. */
function follow(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: fs.readFileSync(world.oauth.caFile) }, (res) => {
        res.resume();
        if (res.statusCode !== 302 || !res.headers.location) return reject(new Error(`authorize answered ${res.statusCode}`));
        resolve(res.headers.location);
      })
      .on('error', reject);
  });
}

function visit(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

describe('the device flow', () => {
  it('authorize prints the code (JSON first line), the user approves, run --once downloads over IMAP and POP3 and sends', async () => {
    const dir = home();
    await setup(dir, profileArgs(world, 'corp'), 'dev');
    world.oauth.onDevice = (code) => world.oauth.approveDevice(code, 'alice');
    const outputs: string[] = [];
    for (const account of ['dev-imap', 'dev-pop', 'dev-smtp']) {
      const r = await mbx(dir, ['authorize', account, '--json']);
      outputs.push(r.stdout, r.stderr);
      expect(r.code, r.stderr).toBe(0);
      const [first, last] = [r.stdout.split('\n')[0]!, r.stdout.trim().split('\n').at(-1)!];
      expect(Object.keys(JSON.parse(first))).toEqual(['verificationUri', 'userCode', 'expiresIn']);
      expect(JSON.parse(last)).toMatchObject({ account, flow: 'device', tokenStore: 'keychain', refreshToken: true, login: { ok: true } });
      expect(r.stderr).toMatch(/enter the code [0-9A-F]{8}/);
      expect(r.stderr).toContain('the login stage of mailbox test');
    }
    await deliver(3, 'dev');
    const { r, lines, sent } = await runOnce(dir, 'device flow');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(lines.find((l) => l.account === 'dev-imap')).toMatchObject({ ok: true, received: 3 });
    expect(lines.find((l) => l.account === 'dev-pop')).toMatchObject({ ok: true, received: 3 });
    expect(lines.find((l) => l.account === 'dev-smtp')).toMatchObject({ ok: true, sent: 1 });
    expect(sent.map((m) => m.user)).toEqual(['alice']);
    // Dovecot logged OAUTHBEARER (offered, so preferred) for IMAP and POP3.
    const log = fs.readFileSync(world.dovecot.logPath, 'utf8');
    expect(log).toMatch(/imap-login: Info: Login: user=<alice>, method=OAUTHBEARER/);
    expect(log).toMatch(/pop3-login: Info: Login: user=<alice>, method=OAUTHBEARER/);
    // Nothing of the tokens in config.json, the state folder or any output.
    expect(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).not.toMatch(/refresh|access_?token/i);
    assertNoToken(dir, ...outputs, r.stdout, r.stderr);
  });

  it('a denied request is 77, an expired code 77, --timeout 75; slow_down is honoured; nothing is stored', async () => {
    const dir = home();
    await setup(dir, profileArgs(world, 'corp'), 'den', ['imap']);
    world.oauth.onDevice = (code) => world.oauth.denyDevice(code);
    const denied = await mbx(dir, ['authorize', 'den-imap']);
    expect(denied.code).toBe(77);
    expect(denied.stderr).toMatch(/was denied/);

    world.oauth.onDevice = undefined;
    world.oauth.deviceExpiresIn = 2;
    const expired = await mbx(dir, ['authorize', 'den-imap']);
    world.oauth.deviceExpiresIn = 600;
    expect(expired.code).toBe(77);
    expect(expired.stderr).toMatch(/expired before the code was entered/);

    const timeout = await mbx(dir, ['authorize', 'den-imap', '--timeout', '2']);
    expect(timeout.code).toBe(75);
    expect(timeout.stderr).toMatch(/was not completed within 2 s/);

    const test = await mbx(dir, ['test', 'den-imap']);
    expect(test.code).toBe(77);
    expect(test.stdout).toMatch(/✗ token .*needs authorization: no OAuth tokens are kept/);
    expect(test.stdout).toContain('mailbox authorize den-imap');

    // slow_down once: the poll interval grows by 5 s, and the authorization still completes.
    world.oauth.slowDownPolls = 1;
    world.oauth.onDevice = (code) => world.oauth.approveDevice(code, 'alice');
    const started = Date.now();
    const slow = await mbx(dir, ['authorize', 'den-imap']);
    world.oauth.slowDownPolls = 0;
    expect(slow.code, slow.stderr).toBe(0);
    expect(Date.now() - started).toBeGreaterThan(6500);
  }, 60_000);
});

describe('the browser flow', () => {
  it('--no-browser prints the URL; the test browser follows it to the loopback redirect (PKCE and state checked); run --once works', async () => {
    const dir = home();
    await setup(dir, profileArgs(world, 'web'), 'web', ['imap', 'smtp']);
    const outputs: string[] = [];
    for (const account of ['web-imap', 'web-smtp']) {
      const auth = startMailbox(['authorize', account, '--flow', 'browser', '--no-browser'], dir, world.env);
      const url = await until('the authorization URL', () => auth.stderr().match(/https:\/\/127\.0\.0\.1:\d+\/authorize\?\S+/)?.[0]);
      const parsed = new URL(url);
      expect(parsed.searchParams.get('code_challenge_method')).toBe('S256');
      expect(parsed.searchParams.get('login_hint')).toBe('alice');
      const page = await visit(await follow(url));
      expect(page).toContain('You can close this tab');
      expect(await auth.exited, auth.stderr()).toBe(0);
      outputs.push(auth.stdout(), auth.stderr());
    }
    await deliver(2, 'web');
    const { r, lines, sent } = await runOnce(dir, 'browser flow');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(lines.find((l) => l.account === 'web-imap')).toMatchObject({ received: 2 });
    expect(sent).toHaveLength(1);
    assertNoToken(dir, ...outputs, r.stdout, r.stderr);
  });

  it('on a machine without a browser the redirected URL pasted on the terminal completes it; a forged state is refused', async () => {
    const dir = home();
    await setup(dir, profileArgs(world, 'web'), 'paste', ['imap']);
    const forged = startMailbox(['authorize', 'paste-imap', '--flow', 'browser', '--no-browser'], dir, world.env);
    const url1 = await until('the authorization URL', () => forged.stderr().match(/https:\/\/\S+\/authorize\?\S+/)?.[0]);
    const bad = new URL(await follow(url1));
    bad.searchParams.set('state', 'forged');
    forged.child.stdin!.write(`${bad.href}\n`);
    expect(await forged.exited).toBe(77);
    expect(forged.stderr()).toMatch(/another state than the one sent/);

    const auth = startMailbox(['authorize', 'paste-imap', '--flow', 'browser', '--no-browser'], dir, world.env);
    const url = await until('the authorization URL', () => auth.stderr().match(/https:\/\/\S+\/authorize\?\S+/)?.[0]);
    // The browser is elsewhere: it ends on 127.0.0.1 that it cannot reach, and the user pastes the address.
    auth.child.stdin!.write(`not a url\n${await follow(url)}\n`);
    expect(await auth.exited, auth.stderr()).toBe(0);
    expect(auth.stderr()).toMatch(/authorized paste-imap with the browser flow/);
  });

  it('a denial at the provider is 77 and stores nothing', async () => {
    const dir = home();
    await setup(dir, profileArgs(world, 'web'), 'deny', ['imap']);
    world.oauth.authorizeAnswer = 'deny';
    const auth = startMailbox(['authorize', 'deny-imap', '--flow', 'browser', '--no-browser'], dir, world.env);
    const url = await until('the authorization URL', () => auth.stderr().match(/https:\/\/\S+\/authorize\?\S+/)?.[0]);
    await visit(await follow(url));
    world.oauth.authorizeAnswer = 'approve';
    expect(await auth.exited).toBe(77);
    expect(auth.stderr()).toMatch(/was denied/);
    expect((await mbx(dir, ['test', 'deny-imap'])).stdout).toMatch(/needs authorization/);
  });
});

describe('the client credentials flow', () => {
  it('app-only access with the client secret from the environment; run --once downloads and sends', async () => {
    const dir = home();
    await setup(dir, profileArgs(world, 'app', ['--client-secret-env', 'APP_SECRET']).map((a) => (a === 'mailbox-public' ? APP_CLIENT : a)), 'app', ['imap', 'smtp']);
    for (const account of ['app-imap', 'app-smtp']) {
      const r = await mbx(dir, ['authorize', account, '--flow', 'client-credentials']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/authorized .* with the client-credentials flow/);
    }
    await deliver(1, 'app');
    const before = world.oauth.grants.client_credentials ?? 0;
    const { r, lines, sent } = await runOnce(dir, 'app-only');
    expect(r.code, r.stdout).toBe(0);
    expect(lines.find((l) => l.account === 'app-imap')).toMatchObject({ received: 1 });
    expect(sent).toHaveLength(1);
    // The cached app token was reused, not fetched again.
    expect(world.oauth.grants.client_credentials ?? 0).toBe(before);
    expect(readTree(dir)).not.toContain('app-secret-4b1d');
  });

  it('a public client cannot use client credentials: refused before anything is asked', async () => {
    const dir = home();
    await setup(dir, profileArgs(world, 'pub'), 'pub', ['imap']);
    const r = await mbx(dir, ['authorize', 'pub-imap', '--flow', 'client-credentials']);
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/cannot run the client-credentials flow: it needs a client secret/);
  });
});

describe('XOAUTH2 where OAUTHBEARER is not offered', () => {
  it('IMAP and POP3 log in with XOAUTH2 (the long payload sent after the "+" on POP3), checked by Dovecot', async () => {
    const { startDovecot } = await import('../harness/index.js');
    const xo = await startDovecot({ certs: world.dovecot.certs, oauth2: { introspectUrl: world.oauth.introspectUrl, caFile: world.oauth.caFile, mechanisms: 'xoauth2' } });
    try {
      const dir = home();
      expect((await mbx(dir, profileArgs(world, 'corp'))).code).toBe(0);
      world.oauth.onDevice = (code) => world.oauth.approveDevice(code, 'alice');
      for (const [type, port] of [['imap', xo.imapsPort], ['pop3', xo.pop3sPort]] as const) {
        const add = await mbx(dir, ['add', '--type', type, '--name', `xo-${type}`, '--host', xo.host, '--port', String(port), '--ca', xo.caFile, '--user', 'alice', '--auth', 'oauth2', '--oauth', 'corp']);
        expect(add.code, add.stderr).toBe(0);
        const auth = await mbx(dir, ['authorize', `xo-${type}`]);
        expect(auth.code, auth.stderr).toBe(0);
        expect(auth.stderr).toMatch(/login .*XOAUTH2/);
      }
      await xo.deliver('alice', 'Subject: xo\r\n\r\nx\r\n');
      const r = await mbx(dir, ['run', '--once']);
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).toMatch(/read xo-imap: 1 new/);
      expect(r.stdout).toMatch(/read xo-pop3: 1 new/);
      const log = fs.readFileSync(xo.logPath, 'utf8');
      expect(log).toMatch(/imap-login: Info: Login: user=<alice>, method=XOAUTH2/);
      expect(log).toMatch(/pop3-login: Info: Login: user=<alice>, method=XOAUTH2/);
    } finally {
      await xo.stop();
    }
  }, 60_000);
});
