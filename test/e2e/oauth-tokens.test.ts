// The token life of an OAuth 2.0 account: reuse until 5 minutes before expiry, a refresh between two
// cycles, rotation, two processes refreshing at once, a token the server refuses early, revocation
// (77, "needs authorization", the other accounts go on), the token stage of `mailbox test`, where the
// tokens live (keychain, or a file sealed with MAILBOX_TOKEN_KEY), and no token in any output or log.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { noSecretServiceEnv } from '../harness/index.js';
import { readTree, runMailbox } from '../helpers/cli.js';
import { accountArgs, profileArgs, type OAuthWorld, useOAuthWorld } from '../helpers/oauth-world.js';

const shared = useOAuthWorld();
const home = shared.home;
let world: OAuthWorld;
const TOKEN_KEY = Buffer.alloc(32, 7).toString('base64');
beforeAll(() => {
  world = shared.world();
});
beforeEach(() => {
  world.oauth.expiresIn = 3600;
  world.oauth.onDevice = (code) => world.oauth.approveDevice(code, 'alice');
});

const mbx = (dir: string, args: string[], env: NodeJS.ProcessEnv = {}) => runMailbox(args, { home: dir, env: { ...world.env, ...env }, timeoutMs: 60_000 });
const refreshes = () => world.oauth.grants.refresh_token ?? 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A profile and the accounts, each authorized with the device flow. */
async function authorized(dir: string, prefix: string, which: string[], extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<void> {
  expect((await mbx(dir, profileArgs(world, 'corp'))).code).toBe(0);
  for (const args of accountArgs(world, 'corp', prefix).filter((a) => which.some((w) => a[4] === `${prefix}-${w}`))) {
    const add = await mbx(dir, [...args, ...extra], env);
    expect(add.code, add.stderr).toBe(0);
    const r = await mbx(dir, ['authorize', args[4]!], env);
    expect(r.code, r.stderr).toBe(0);
  }
}

async function deliver(n: number, tag: string): Promise<void> {
  await world.dovecot.doveadm(['expunge', '-u', 'alice', 'mailbox', 'INBOX', 'all']).catch(() => undefined);
  for (let i = 0; i < n; i++) await world.dovecot.deliver('alice', `Message-ID: <${tag}${i}@test>\r\nSubject: ${tag}\r\n\r\nx\r\n`);
}

function assertNoToken(dir: string, ...outputs: string[]): void {
  const everything = readTree(dir) + outputs.join('\n');
  for (const token of world.oauth.issued()) expect(everything.includes(token), `a token leaked: ${token.slice(0, 12)}...`).toBe(false);
}

describe('the token manager', () => {
  it('reuses the token until 5 minutes before it expires, refreshes between two cycles, rotation kept', async () => {
    const dir = home();
    // Valid for 5 minutes and 15 seconds: reused by the first cycle (well within the 15 s, even on a
    // loaded machine), refreshed by one once those 15 s have passed since it was issued (at the latest
    // when authorize returned).
    world.oauth.expiresIn = 315;
    await authorized(dir, 'exp', ['imap']);
    const issued = Date.now();
    const start = refreshes();
    await deliver(1, 'exp1');
    const first = await mbx(dir, ['run', '--once']);
    expect(first.code, first.stdout).toBe(0);
    expect(refreshes()).toBe(start);
    await sleep(Math.max(0, issued + 15_500 - Date.now()));
    world.oauth.expiresIn = 3600;
    await deliver(1, 'exp2');
    const second = await mbx(dir, ['run', '--once']);
    expect(second.code, second.stdout).toBe(0);
    expect(second.stdout).toMatch(/read exp-imap: 1 new/);
    expect(refreshes()).toBe(start + 1);
    // The rotated refresh token was kept: the next refresh (forced by an early expiry) works with it.
    world.oauth.expireAccessTokens('alice');
    const test = await mbx(dir, ['test', 'exp-imap', '--json']);
    expect(test.code, test.stdout).toBe(0);
    expect(refreshes()).toBe(start + 2);
    const [result] = JSON.parse(test.stdout);
    expect(result.warnings).toContain('the server refused the cached access token; it was refreshed and the account tested again');
    expect(result.stages.find((s: { name: string }) => s.name === 'token').data.source).toBe('refreshed');
  }, 60_000);

  it('a token the server refuses although it looked valid is refreshed once and the cycle retried: run --once still works', async () => {
    const dir = home();
    await authorized(dir, 'early', ['imap', 'smtp']);
    world.oauth.expireAccessTokens('alice');
    const start = refreshes();
    await deliver(2, 'early');
    expect((await mbx(dir, ['send', '--to', 'bob@example.test', '--subject', 'early', '--text', 'x'])).code).toBe(0);
    const sent = world.smtp.messages().length;
    const r = await mbx(dir, ['run', '--once']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/read early-imap: 2 new/);
    expect(r.stdout).toMatch(/send early-smtp: 1 sent/);
    expect(world.smtp.messages().length).toBe(sent + 1);
    // One refresh per account, none more.
    expect(refreshes()).toBe(start + 2);
  }, 60_000);

  it('two processes refreshing at once: one refresh, both work', async () => {
    const dir = home();
    world.oauth.expiresIn = 301;
    await authorized(dir, 'two', ['imap']);
    world.oauth.expiresIn = 3600;
    await sleep(1500);
    const start = refreshes();
    // A slow token endpoint: the two runs overlap for sure. Without the lock both would spend the same
    // refresh token, and the server (rotating) would answer the second with invalid_grant.
    world.oauth.tokenDelayMs = 1500;
    const [a, b] = await Promise.all([mbx(dir, ['test', 'two-imap']), mbx(dir, ['test', 'two-imap'])]).finally(() => (world.oauth.tokenDelayMs = 0));
    expect(a.code, a.stdout).toBe(0);
    expect(b.code, b.stdout).toBe(0);
    expect(refreshes()).toBe(start + 1);
    // The one that refreshed says so; the other waited for it (refreshed too), or, started late under
    // load, found the new token already stored (cached). Never a second refresh.
    const sources = [a.stdout, b.stdout].map((o) => o.match(/✓ token\s+\d+ ms\s+(\w+)/)?.[1]).sort();
    expect(sources).toContain('refreshed');
    for (const source of sources) expect(['cached', 'refreshed']).toContain(source);
  }, 60_000);

  it('revoked: 77 "needs authorization" in the cycle line and status, the other accounts go on; authorize mends it', async () => {
    const dir = home();
    await authorized(dir, 'rev', ['imap']);
    // A password account beside it: bob on the same Dovecot.
    expect((await mbx(dir, ['add', '--type', 'pop3', '--name', 'bob-pop', '--host', world.dovecot.host, '--port', String(world.dovecot.pop3sPort), '--ca', world.dovecot.caFile, '--user', 'bob', '--password-env', 'BOB_PW', '--no-test'])).code).toBe(0);
    await world.dovecot.deliver('bob', 'Subject: for bob\r\n\r\nx\r\n');
    world.oauth.revokeUser('alice');
    const r = await mbx(dir, ['run', '--once', '--log-format', 'json'], { BOB_PW: 'bob-secret' });
    expect(r.code).toBe(77);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const rev = lines.find((l) => l.account === 'rev-imap');
    expect(rev).toMatchObject({ ok: false, error: { code: 'EAUTH', exit: 77 } });
    expect(rev.summary).toMatch(/account rev-imap needs authorization: refreshing the OAuth token of account rev-imap was refused \(invalid_grant/);
    expect(rev.error.hint).toContain('mailbox authorize rev-imap');
    expect(lines.find((l) => l.account === 'bob-pop')).toMatchObject({ ok: true, received: 1 });
    const status = await mbx(dir, ['status']);
    expect(status.stdout).toMatch(/rev-imap.*needs authorization/);
    const again = await mbx(dir, ['authorize', 'rev-imap']);
    expect(again.code, again.stderr).toBe(0);
    expect((await mbx(dir, ['run', '--once', '--account', 'rev-imap'])).code).toBe(0);
  }, 60_000);
});

describe('mailbox test: the token stage', () => {
  it('comes before login: source, expiry, scopes and the JWT claims; then cached', async () => {
    const dir = home();
    await authorized(dir, 'stage', ['imap', 'pop', 'smtp']);
    const r = await mbx(dir, ['test', '--json']);
    expect(r.code, r.stdout).toBe(0);
    for (const result of JSON.parse(r.stdout)) {
      const names = result.stages.map((s: { name: string }) => s.name);
      expect(names.indexOf('token')).toBe(names.indexOf('login') - 1);
      const token = result.stages.find((s: { name: string }) => s.name === 'token');
      expect(token.data).toMatchObject({ source: 'cached', store: 'keychain', profile: 'corp', scopes: ['mail', 'offline_access'], claims: { aud: 'https://outlook.office.com', upn: 'alice', tid: 'test-tenant-0001' } });
      expect(token.detail).toMatch(/^cached \(keychain, profile corp\); expires .* UTC \(in \d+ min\); scopes mail offline_access; JWT aud https:\/\/outlook\.office\.com, scp mail offline_access, tid test-tenant-0001, upn alice$/);
      const login = result.stages.find((s: { name: string }) => s.name === 'login');
      expect(login.detail).toMatch(/OAUTHBEARER|XOAUTH2/);
    }
    const text = await mbx(dir, ['test', 'stage-smtp']);
    expect(text.stdout).toMatch(/✓ token +\d+ ms {2}cached/);
    expect(text.stdout).toMatch(/✓ login .*XOAUTH2/);
    assertNoToken(dir, r.stdout, r.stderr, text.stdout, text.stderr);
  });
});

describe('a slow authorization server', () => {
  it('the token stage is bounded by mailbox test --timeout: 75 at once, the token request ended', async () => {
    const dir = home();
    world.oauth.expiresIn = 300; // expired at once for the reuse rule: every use refreshes
    await authorized(dir, 'slow', ['imap']);
    world.oauth.tokenDelayMs = 8000;
    try {
      const started = Date.now();
      const r = await mbx(dir, ['test', 'slow-imap', '--timeout', '2']);
      expect(r.code).toBe(75);
      expect(Date.now() - started).toBeLessThan(6000);
      expect(r.stdout).toMatch(/✗ token .*the OAuth access token was not ready within the time limit/);
    } finally {
      world.oauth.tokenDelayMs = 0;
    }
  }, 60_000);
});

describe('where tokens live', () => {
  it('no keychain: authorize exits 78, writes nothing and names --token-store file; with it the tokens live in a sealed 0600 file', async () => {
    const dir = home();
    const nokeys = noSecretServiceEnv();
    expect((await mbx(dir, profileArgs(world, 'corp'))).code).toBe(0);
    const [imap] = accountArgs(world, 'corp', 'head');
    expect((await mbx(dir, imap!, nokeys)).code).toBe(0);
    let asked = false;
    world.oauth.onDevice = () => (asked = true);
    const r = await mbx(dir, ['authorize', 'head-imap'], nokeys);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/keychain is unavailable.*nothing was asked or stored/);
    expect(r.stderr).toContain('--token-store file');
    expect(asked).toBe(false);
    expect(fs.existsSync(path.join(dir, 'state', 'tokens', 'head-imap.json'))).toBe(false);

    world.oauth.onDevice = (code) => world.oauth.approveDevice(code, 'alice');
    const env = { ...nokeys, MAILBOX_TOKEN_KEY: TOKEN_KEY };
    const ok = await mbx(dir, ['authorize', 'head-imap', '--token-store', 'file'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/keeps its tokens in the token file from now on/);
    expect(ok.stderr).toMatch(/\(encrypted\)/);
    const file = path.join(dir, 'state', 'tokens', 'head-imap.json');
    expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('600');
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ v: 1, alg: 'A256GCM' });
    const show = JSON.parse((await mbx(dir, ['show', 'head-imap', '--json'], env)).stdout);
    expect(show).toMatchObject({ oauth: 'corp', tokenStore: 'file' });
    await deliver(1, 'file');
    const run = await mbx(dir, ['run', '--once'], env);
    expect(run.code, run.stdout).toBe(0);
    // The wrong key, or none, is a configuration error naming the variable, not a token leak.
    const nokey = await mbx(dir, ['test', 'head-imap'], nokeys);
    expect(nokey.code).toBe(78);
    expect(nokey.stdout).toMatch(/encrypted, and MAILBOX_TOKEN_KEY is not set/);
    const wrong = await mbx(dir, ['test', 'head-imap'], { ...nokeys, MAILBOX_TOKEN_KEY: Buffer.alloc(32, 9).toString('base64') });
    expect(wrong.stdout).toMatch(/cannot be decrypted with this MAILBOX_TOKEN_KEY/);
    const weak = await mbx(dir, ['test', 'head-imap'], { ...nokeys, MAILBOX_TOKEN_KEY: 'hunter2' });
    expect(weak.stdout).toMatch(/MAILBOX_TOKEN_KEY is not a key: expected 32 random bytes/);
    assertNoToken(dir, ok.stdout, ok.stderr, run.stdout, run.stderr);
  });

  it('edit --token-store moves the tokens to the other store: no new authorization needed', async () => {
    const dir = home();
    await authorized(dir, 'mv', ['imap']);
    const env = { MAILBOX_TOKEN_KEY: TOKEN_KEY };
    const toFile = await mbx(dir, ['edit', 'mv-imap', '--token-store', 'file', '--no-test'], env);
    expect(toFile.code, toFile.stderr).toBe(0);
    expect(toFile.stderr).toMatch(/its OAuth tokens moved to the token file/);
    expect(fs.existsSync(path.join(dir, 'state', 'tokens', 'mv-imap.json'))).toBe(true);
    expect((await mbx(dir, ['test', 'mv-imap'], env)).stdout).toMatch(/✓ token .*cached \(token file/);
    const back = await mbx(dir, ['edit', 'mv-imap', '--token-store', 'keychain', '--no-test'], env);
    expect(back.stderr).toMatch(/moved to the keychain/);
    expect(fs.existsSync(path.join(dir, 'state', 'tokens', 'mv-imap.json'))).toBe(false);
    expect((await mbx(dir, ['test', 'mv-imap'])).stdout).toMatch(/✓ token .*cached \(keychain/);
  });

  it('with debug logging on, the debug logs hold the exchange but no token; removing the account forgets its tokens', async () => {
    const dir = home();
    await authorized(dir, 'dbg', ['imap', 'pop', 'smtp'], ['--debug']);
    await deliver(1, 'dbg');
    expect((await mbx(dir, ['send', '--to', 'bob@example.test', '--subject', 'dbg', '--text', 'x'])).code).toBe(0);
    world.oauth.expireAccessTokens('alice'); // a refresh, and a refused token, in the logs too
    const r = await mbx(dir, ['run', '--once']);
    const t = await mbx(dir, ['test', '--json']);
    expect(r.code, r.stdout).toBe(0);
    const logs = fs.readdirSync(path.join(dir, 'state', 'logs'));
    expect(logs.sort()).toEqual(['dbg-imap.log', 'dbg-pop.log', 'dbg-smtp.log']);
    for (const log of logs) expect(fs.readFileSync(path.join(dir, 'state', 'logs', log), 'utf8')).toMatch(/AUTH|AUTHENTICATE/);
    assertNoToken(dir, r.stdout, r.stderr, t.stdout, t.stderr);
    const removed = await mbx(dir, ['remove', 'dbg-imap', '--yes']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stderr).toMatch(/its OAuth tokens were removed/);
  });
});
