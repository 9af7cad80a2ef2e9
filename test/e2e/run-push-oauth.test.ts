// Push for an OAuth 2.0 account (issue 15): the watching connection logs in with an access token
// from the token manager, and reconnects with a fresh one before that token expires (Dovecot checks
// every login against the test authorization server's introspection endpoint).
import { expect, it } from 'vitest';
import { runMailbox } from '../helpers/cli.js';
import { accountArgs, profileArgs, useOAuthWorld } from '../helpers/oauth-world.js';
import { background, pushState, stored, until } from '../helpers/push-run.js';

const shared = useOAuthWorld();

it('an OAuth account is watched, reconnects with a refreshed token before its token expires, and push goes on', async () => {
  const world = shared.world();
  const dir = shared.home();
  const mbx = (args: string[]) => runMailbox(args, { home: dir, env: world.env, timeoutMs: 60_000 });
  world.oauth.onDevice = (code) => world.oauth.approveDevice(code, 'alice');
  // Access tokens live 12 s: the watcher renews its connection at three quarters of that.
  world.oauth.expiresIn = 12;
  expect((await mbx(profileArgs(world, 'corp'))).code).toBe(0);
  const add = await mbx([...accountArgs(world, 'corp', 'o')[0]!, '--no-test']);
  expect(add.code, add.stderr).toBe(0);
  expect((await mbx(['authorize', 'o-imap'])).code).toBe(0);
  await world.dovecot.doveadm(['expunge', '-u', 'alice', 'mailbox', 'INBOX', 'all']).catch(() => undefined);
  const refreshesBefore = world.oauth.grants.refresh_token ?? 0;
  const runner = background(['run', '--read-interval', '10m', '--send-interval', '10m', '--log-format', 'json'], dir, world.env);
  try {
    await until('watching', () => pushState(dir, 'o-imap')?.state === 'watching', 20_000);
    await until('renewed', () => pushState(dir, 'o-imap')?.state === 'watching' && Number(pushState(dir, 'o-imap')?.reconnects) >= 1, 20_000);
    expect(world.oauth.grants.refresh_token ?? 0).toBeGreaterThan(refreshesBefore);
    const body = Buffer.from('Message-ID: <oauth-push@test>\r\nSubject: pushed\r\n\r\nx\r\n');
    const t0 = Date.now();
    await world.dovecot.deliver('alice', body);
    await until('stored', () => stored(dir, 'o-imap').length === 1, 5000, 10);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(runner.lines().every((l) => l.ok === true)).toBe(true);
  } finally {
    await runner.stop();
  }
}, 90_000);
