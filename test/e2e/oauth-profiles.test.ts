// OAuth 2.0 profiles as an admin manages them: oauth add/list/show/remove (--json), the accounts that
// name them, export/apply (idempotent, --prune) and provisioned.json, with secret references only.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { noSecretServiceEnv } from '../harness/index.js';
import { runMailbox, tmpHome } from '../helpers/cli.js';
import { storedConfig } from '../helpers/store.js';

const homes: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of homes.splice(0)) cleanup();
});
function home(): string {
  const { home: dir, cleanup } = tmpHome('mailbox-oauth-');
  homes.push(cleanup);
  return dir;
}

const M365 = ['oauth', 'add', 'm365', '--provider', 'microsoft', '--tenant', 'contoso.onmicrosoft.com', '--client-id', '11111111-2222-3333-4444-555555555555'];
const GMAIL = ['oauth', 'add', 'gmail', '--provider', 'google', '--client-id', 'id.apps.googleusercontent.com', '--client-secret-env', 'GOOGLE_SECRET'];
const IMAP = ['add', '--type', 'imap', '--name', 'work', '--host', 'outlook.office365.com', '--user', 'me@contoso.com', '--auth', 'oauth2', '--oauth', 'm365'];

describe('mailbox oauth', () => {
  it('add, list, show, remove, with --json; remove refused while an account uses the profile', async () => {
    const dir = home();
    const add = await runMailbox([...M365, '--json'], { home: dir });
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout).profile).toMatchObject({ name: 'm365', provider: 'microsoft', tenant: 'contoso.onmicrosoft.com', clientSecret: null, defaultFlow: 'device', flows: ['device', 'browser'] });
    expect((await runMailbox(GMAIL, { home: dir })).code).toBe(0);
    const list = JSON.parse((await runMailbox(['oauth', 'list', '--json'], { home: dir })).stdout);
    expect(list.map((p: { name: string; defaultFlow: string }) => [p.name, p.defaultFlow])).toEqual([
      ['m365', 'device'],
      ['gmail', 'browser'],
    ]);
    expect(list[1]).toMatchObject({ clientSecret: { kind: 'env', ref: 'GOOGLE_SECRET' }, scopes: ['https://mail.google.com/'], flows: ['device', 'browser'] });
    const text = await runMailbox(['oauth', 'show', 'gmail'], { home: dir });
    expect(text.stdout).toMatch(/token URL\s+https:\/\/oauth2\.googleapis\.com\/token/);

    const acc = await runMailbox([...IMAP, '--json'], { home: dir });
    expect(acc.code, acc.stderr).toBe(0);
    expect(JSON.parse(acc.stdout).account).toMatchObject({ auth: 'oauth2', oauth: 'm365', tokenStore: 'keychain', secret: { kind: 'none' } });
    expect(acc.stderr).toContain('mailbox authorize work authorizes it and tests the login');
    const refused = await runMailbox(['oauth', 'remove', 'm365'], { home: dir });
    expect(refused.code).toBe(65);
    expect(refused.stderr).toMatch(/OAuth profile m365 is used by account work/);
    expect(refused.stderr).toContain('mailbox edit work --oauth OTHER');
    expect(JSON.parse((await runMailbox(['oauth', 'list', '--json'], { home: dir })).stdout)[0].usedBy).toEqual(['work']);
    const removed = await runMailbox(['oauth', 'remove', 'gmail', '--json'], { home: dir });
    expect(JSON.parse(removed.stdout)).toEqual({ removed: 'gmail', secretRemoved: null });
    expect((await runMailbox(['oauth', 'show', 'gmail'], { home: dir })).code).toBe(66);
  });

  it('bad input names the field, the value and what is accepted; a missing profile is refused', async () => {
    const dir = home();
    expect((await runMailbox(M365, { home: dir })).code).toBe(0);
    const cases: Array<[string[], RegExp]> = [
      [['oauth', 'add', 'x', '--provider', 'yahoo', '--client-id', 'c'], /invalid provider "yahoo": expected one of microsoft, google, generic/],
      [['oauth', 'add', 'x', '--provider', 'generic', '--client-id', 'c', '--device-url', 'https://sso.test/d'], /missing token-url/],
      [['oauth', 'add', 'x', '--provider', 'generic', '--client-id', 'c', '--token-url', 'http://sso.test/t', '--device-url', 'https://sso.test/d'], /invalid token-url "http:\/\/sso.test\/t": expected an https URL/],
      [['oauth', 'add', 'x', '--provider', 'google', '--client-id', 'c', '--tenant', 't'], /tenant applies to microsoft profiles only/],
      [['oauth', 'add', 'x', '--provider', 'microsoft', '--client-id', 'c', '--redirect-port', '70000'], /invalid redirect-port "70000"/],
      [[...IMAP.slice(0, -1), 'nope'], /invalid oauth "nope": no OAuth profile has that name/],
      [[...IMAP.map((a) => (a === 'me@contoso.com' ? 'me' : a))], /invalid user "me": expected the mailbox address/],
    ];
    for (const [args, message] of cases) {
      const r = await runMailbox(args, { home: dir });
      expect(r.code, args.join(' ')).toBe(65);
      expect(r.stderr).toMatch(message);
    }
    const usage = await runMailbox(['oauth', 'add', 'x', '--provider', 'google'], { home: dir });
    expect(usage.code).toBe(64);
  });

  it('a client secret from standard input goes to the keychain; without a keychain 78 and nothing saved', async () => {
    const dir = home();
    const r = await runMailbox([...M365, '--client-secret-stdin'], { home: dir, input: 's3cret\n', env: noSecretServiceEnv() });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/nothing was saved/);
    expect(r.stderr).toContain('--client-secret-env VAR');
    expect(storedConfig(dir)).toBeUndefined();
  });
});

describe('export, apply, provisioned.json', () => {
  it('export carries the profiles (references only); apply creates them, a second apply changes nothing, --prune removes', async () => {
    const src = home();
    expect((await runMailbox(M365, { home: src })).code).toBe(0);
    expect((await runMailbox(GMAIL, { home: src })).code).toBe(0);
    expect((await runMailbox(IMAP, { home: src })).code).toBe(0);
    const doc = (await runMailbox(['export'], { home: src })).stdout;
    expect(JSON.parse(doc).oauthProfiles.map((p: { name: string }) => p.name)).toEqual(['m365', 'gmail']);
    expect(JSON.parse(doc).oauthProfiles[1].clientSecret).toEqual({ kind: 'env', name: 'GOOGLE_SECRET' });

    const dst = home();
    const first = await runMailbox(['apply', '-f', '-', '--json'], { home: dst, input: doc });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).oauthProfiles).toEqual([
      { name: 'm365', action: 'create', changes: [] },
      { name: 'gmail', action: 'create', changes: [] },
    ]);
    const before = storedConfig(dst);
    const second = await runMailbox(['apply', '-f', '-'], { home: dst, input: doc });
    expect(second.stdout).toMatch(/unchanged oauth profile m365/);
    expect(second.stderr).toMatch(/no change/);
    expect(storedConfig(dst)).toBe(before);

    const fewer = JSON.parse(doc);
    fewer.oauthProfiles = fewer.oauthProfiles.filter((p: { name: string }) => p.name === 'm365');
    const pruned = await runMailbox(['apply', '-f', '-', '--prune'], { home: dst, input: JSON.stringify(fewer) });
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toMatch(/remove +oauth profile gmail/);
    // A profile an account still names cannot be pruned away: the file is refused whole.
    fewer.oauthProfiles = [];
    const refused = await runMailbox(['apply', '-f', '-', '--prune'], { home: dst, input: JSON.stringify(fewer) });
    expect(refused.code).toBe(65);
    expect(refused.stderr).toMatch(/accounts\[0\] \(work\): the OAuth profile m365 does not exist/);
  });

  it('provisioned profiles are listed as such, usable by accounts, and cannot be removed', async () => {
    const dir = home();
    fs.writeFileSync(
      path.join(dir, 'provisioned.json'),
      JSON.stringify({
        accounts: [{ name: 'corp', type: 'imap', host: 'imap.corp.test', auth: 'oauth2', user: 'me@corp.test', oauth: 'corp-sso', tokenStore: 'file' }],
        filters: [],
        oauthProfiles: [{ name: 'corp-sso', provider: 'microsoft', clientId: 'cid', tenant: 'corp.test' }],
      }),
    );
    const list = JSON.parse((await runMailbox(['oauth', 'list', '--json'], { home: dir })).stdout);
    expect(list).toEqual([expect.objectContaining({ name: 'corp-sso', provisioned: true, usedBy: ['corp'] })]);
    const r = await runMailbox(['oauth', 'remove', 'corp-sso'], { home: dir });
    expect(r.code).toBe(77);
    expect((await runMailbox(['oauth', 'add', 'corp-sso', '--provider', 'google', '--client-id', 'x'], { home: dir })).code).toBe(65);
    const show = JSON.parse((await runMailbox(['show', 'corp', '--json'], { home: dir })).stdout);
    expect(show).toMatchObject({ oauth: 'corp-sso', tokenStore: 'file', provisioned: true });
  });
});
