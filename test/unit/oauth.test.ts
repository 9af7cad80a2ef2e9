// OAuth 2.0 without servers: profiles and presets, the account's profile, the config document, the
// token manager's decisions (reuse, refresh, rotation, one refresh at a time, forced refresh, grants
// refused), the credential resolver's one retry, the sealed token file, and provider errors in words.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAccount, type Account } from '../../src/core/account.js';
import { parseConfig } from '../../src/core/config.js';
import { MailboxError } from '../../src/core/errors.js';
import { assertFlow, oauthEndpoints, parseOAuthProfile, type OAuthProfile } from '../../src/core/oauth.js';
import { accountProblems } from '../../src/core/problems.js';
import { credentialResolver } from '../../src/jobs/credentials.js';
import { TokenManager, type Grants } from '../../src/jobs/oauth/token-manager.js';
import { tokenStage } from '../../src/jobs/oauth/token-stage.js';
import { tokenClaims } from '../../src/protocols/oauth/claims.js';
import { oauthFailure } from '../../src/protocols/oauth/failures.js';
import { fileTokenStore } from '../../src/store/tokens/file.js';
import { fileTokenLocks } from '../../src/store/tokens/lock.js';
import type { StoredTokens, TokenStore, TokenStores } from '../../src/store/tokens/types.js';

const m365: OAuthProfile = { name: 'm365', provider: 'microsoft', clientId: 'client-1' };

describe('profiles', () => {
  it('presets fill in endpoints, scopes and the default flow', () => {
    const ms = oauthEndpoints(parseOAuthProfile({ name: 'm', provider: 'microsoft', clientId: 'c' }));
    expect(ms.tokenUrl).toBe('https://login.microsoftonline.com/organizations/oauth2/v2.0/token');
    expect(ms.deviceUrl).toBe('https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode');
    expect(ms.scopes).toEqual(['https://outlook.office.com/IMAP.AccessAsUser.All', 'https://outlook.office.com/POP.AccessAsUser.All', 'https://outlook.office.com/SMTP.Send', 'offline_access']);
    expect(ms.appScopes).toEqual(['https://outlook.office365.com/.default']);
    expect(ms.defaultFlow).toBe('device');
    expect(oauthEndpoints({ ...m365, tenant: 'contoso.onmicrosoft.com' }).authorizationUrl).toBe('https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize');
    const google = oauthEndpoints(parseOAuthProfile({ name: 'g', provider: 'google', clientId: 'c' }));
    expect(google).toMatchObject({ scopes: ['https://mail.google.com/'], defaultFlow: 'browser', authorizationParams: { access_type: 'offline', prompt: 'consent' } });
  });

  it('are checked field by field: generic endpoints, https only, tenant for microsoft, scopes, secret references', () => {
    const fails = (input: Record<string, unknown>) => {
      try {
        parseOAuthProfile(input);
      } catch (err) {
        return err as MailboxError;
      }
      throw new Error('accepted');
    };
    expect(fails({ name: 'g', provider: 'generic', clientId: 'c' }).message).toMatch(/missing token-url/);
    expect(fails({ name: 'g', provider: 'generic', clientId: 'c', tokenUrl: 'https://x.test/token' }).message).toMatch(/missing device-url or auth-url/);
    expect(fails({ name: 'g', provider: 'generic', clientId: 'c', tokenUrl: 'http://x.test/token', deviceUrl: 'https://x.test/d' }).field).toBe('token-url');
    expect(fails({ name: 'g', provider: 'google', clientId: 'c', tenant: 'x' }).message).toMatch(/tenant applies to microsoft profiles only/);
    expect(fails({ name: 'g', provider: 'google', clientId: 'c', scopes: ['a b'] }).field).toBe('scope');
    expect(fails({ name: 'g', provider: 'kerberos', clientId: 'c' }).message).toMatch(/expected one of microsoft, google, generic/);
    expect(fails({ name: 'g', provider: 'google' }).field).toBe('client-id');
    expect(fails({ name: 'g', provider: 'google', clientId: 'c', clientSecret: 'plain text' }).field).toBe('client-secret');
    expect(parseOAuthProfile({ name: 'g', provider: 'google', clientId: 'c', clientSecret: { kind: 'env', name: 'GS' } }).clientSecret).toEqual({ kind: 'env', name: 'GS' });
  });

  it('client credentials need a client secret (and for Microsoft a tenant); Google refuses its mail scope on the device flow', () => {
    const secret = { kind: 'env', name: 'S' } as const;
    expect(() => assertFlow(m365, 'client-credentials')).toThrow(/needs a client secret/);
    expect(() => assertFlow({ ...m365, clientSecret: secret }, 'client-credentials')).toThrow(/app-only access is granted in one tenant, not in "organizations"/);
    expect(() => assertFlow({ ...m365, clientSecret: secret, tenant: 'contoso.onmicrosoft.com' }, 'client-credentials')).not.toThrow();
    const google: OAuthProfile = { name: 'g', provider: 'google', clientId: 'c', clientSecret: secret };
    expect(() => assertFlow(google, 'device')).toThrow(/Google refuses the scope https:\/\/mail.google.com\/ on the device flow/);
    expect(() => assertFlow(google, 'client-credentials')).toThrow(/Google offers no client credentials grant/);
    expect(() => assertFlow(google, 'browser')).not.toThrow();
  });
});

describe('accounts and the config', () => {
  const imap = { name: 'w', type: 'imap', host: 'outlook.office365.com', user: 'me@contoso.com', auth: 'oauth2' };

  it('an oauth2 account names a profile (no secret) or has a secret source for a token fetched elsewhere, not both', () => {
    expect(parseAccount({ ...imap, oauth: 'm365' })).toMatchObject({ oauth: 'm365', auth: 'oauth2' });
    expect(parseAccount({ ...imap, oauth: 'm365', tokenStore: 'file' }).tokenStore).toBe('file');
    expect(parseAccount({ ...imap, secret: { kind: 'env', name: 'TOKEN' } }).secret).toEqual({ kind: 'env', name: 'TOKEN' });
    expect(() => parseAccount({ ...imap, oauth: 'm365', secret: { kind: 'env', name: 'T' } })).toThrow(/either an OAuth profile or a secret source/);
    expect(() => parseAccount(imap)).toThrow(/missing oauth: auth oauth2 needs an OAuth profile/);
    expect(() => parseAccount({ ...imap, auth: 'password', secret: { kind: 'env', name: 'P' }, oauth: 'm365' })).toThrow(/applies to accounts with auth oauth2/);
    expect(() => parseAccount({ ...imap, oauth: 'm365', tokenStore: 'disk' })).toThrow(/expected one of keychain, file/);
  });

  it('profiles live in config.json (absent when none), names unique; an account naming a missing one is a configuration problem', () => {
    const config = parseConfig({ version: 1, accounts: [{ ...imap, oauth: 'M365' }], filters: [], oauthProfiles: [m365] }, 'config.json');
    expect(config.oauthProfiles).toEqual([m365]);
    expect('oauthProfiles' in parseConfig({ version: 1, accounts: [], filters: [] }, 'config.json')).toBe(false);
    expect(() => parseConfig({ oauthProfiles: [m365, { ...m365, name: 'M365' }] }, 'config.json')).toThrow(/two OAuth profiles are named "M365"/);
    const account = { ...parseAccount({ ...imap, oauth: 'gone' }), provisioned: false };
    const problems = accountProblems({ accounts: [account], filters: [], profiles: [m365] });
    expect(problems.get('w')?.message).toMatch(/names the OAuth profile "gone", which does not exist/);
    expect(accountProblems({ accounts: [{ ...account, oauth: 'm365' }], filters: [], profiles: [m365] }).size).toBe(0);
  });
});

/** Token stores in memory, with a real lock per account (in-process). */
function memoryStores(): TokenStores & { saved: StoredTokens[]; data: Map<string, StoredTokens> } {
  const data = new Map<string, StoredTokens>();
  const saved: StoredTokens[] = [];
  const store: TokenStore = {
    kind: 'keychain',
    load: async (a) => structuredClone(data.get(a)),
    save: async (a, t) => {
      saved.push(structuredClone(t));
      data.set(a, structuredClone(t));
    },
    remove: async (a) => data.delete(a),
    check: async () => undefined,
  };
  const chains = new Map<string, Promise<unknown>>();
  return {
    saved,
    data,
    of: () => store,
    locks: {
      exclusive(account, body) {
        const next = (chains.get(account) ?? Promise.resolve()).then(body, body);
        chains.set(account, next.catch(() => undefined));
        return next;
      },
    },
  };
}

const account: Account = { ...parseAccount({ name: 'w', type: 'imap', host: 'imap.test', user: 'me@x.test', auth: 'oauth2', oauth: 'm365' }) };
const MIN = 60_000;

function manager(now: { t: number }, grants: Partial<Grants> & { calls?: string[] } = {}) {
  const stores = memoryStores();
  const calls: string[] = [];
  const tokens = new TokenManager({
    stores,
    profiles: async () => [m365],
    secrets: { resolve: async () => 'secret' },
    clock: () => new Date(now.t),
    grants: {
      refresh: grants.refresh ?? (async (_c, rt) => (calls.push(`refresh ${rt}`), { accessToken: `at-${calls.length}`, refreshToken: `rt-${calls.length}`, expiresAt: now.t + 60 * MIN })),
      clientCredentials: grants.clientCredentials ?? (async () => (calls.push('cc'), { accessToken: `app-${calls.length}`, expiresAt: now.t + 60 * MIN })),
    },
  });
  return { tokens, stores, calls };
}

const stored = (over: Partial<StoredTokens> = {}): StoredTokens => ({ flow: 'device', profile: 'm365', clientId: 'client-1', refreshToken: 'rt-0', accessToken: 'at-0', expiresAt: 0, updatedAt: 0, ...over });

describe('the token manager', () => {
  it('reuses the access token until 5 minutes before expiry, then refreshes and stores the rotated refresh token before handing out', async () => {
    const now = { t: 1_000_000 };
    const { tokens, stores, calls } = manager(now);
    stores.data.set('w', stored({ expiresAt: now.t + 5 * MIN + 1000 }));
    expect(await tokens.get(account)).toMatchObject({ token: 'at-0', source: 'cached' });
    now.t += 2000;
    const fresh = await tokens.get(account);
    expect(fresh).toMatchObject({ token: 'at-1', source: 'refreshed' });
    expect(calls).toEqual(['refresh rt-0']);
    expect(stores.saved.at(-1)).toMatchObject({ refreshToken: 'rt-1', accessToken: 'at-1' });
    expect(await tokens.get(account)).toMatchObject({ token: 'at-1', source: 'cached' });
  });

  it('a provider that does not rotate keeps the refresh token it had', async () => {
    const now = { t: 0 };
    const { tokens, stores } = manager(now, { refresh: async () => ({ accessToken: 'at-new', expiresAt: 3600_000 }) });
    stores.data.set('w', stored());
    await tokens.get(account);
    expect(stores.data.get('w')).toMatchObject({ refreshToken: 'rt-0', accessToken: 'at-new' });
  });

  it('concurrent requests for an expired token: one refresh, both get its token', async () => {
    const now = { t: 0 };
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let refreshes = 0;
    const { tokens, stores } = manager(now, { refresh: async () => (refreshes++, await gate, { accessToken: 'at-once', refreshToken: 'rt-once', expiresAt: 3600_000 }) });
    stores.data.set('w', stored());
    const both = Promise.all([tokens.get(account), tokens.get(account)]);
    release();
    const [a, b] = await both;
    expect(refreshes).toBe(1);
    expect([a.token, b.token]).toEqual(['at-once', 'at-once']);
  });

  it('a refused token is never handed out again: the next request refreshes', async () => {
    const now = { t: 0 };
    const { tokens, stores, calls } = manager(now);
    stores.data.set('w', stored({ expiresAt: 3600_000 }));
    expect((await tokens.get(account, { rejected: 'at-0' })).token).toBe('at-1');
    expect(calls).toHaveLength(1);
  });

  it('app-only tokens are obtained again with client credentials', async () => {
    const now = { t: 0 };
    const { tokens, stores, calls } = manager(now);
    stores.data.set('w', stored({ flow: 'client-credentials', refreshToken: undefined }));
    expect(await tokens.get(account)).toMatchObject({ source: 'obtained' });
    expect(calls).toEqual(['cc']);
  });

  it('needs authorization: no tokens, tokens of another client, no refresh token; a refused grant passes through', async () => {
    const now = { t: 0 };
    const { tokens, stores } = manager(now, {
      refresh: async () => {
        throw oauthFailure({ error: 'invalid_grant', error_description: 'AADSTS70000: revoked' }, 'refreshing the OAuth token of account w', 'w');
      },
    });
    await expect(tokens.get(account)).rejects.toThrow(/account w needs authorization: no OAuth tokens are kept/);
    stores.data.set('w', stored({ clientId: 'other' }));
    await expect(tokens.get(account)).rejects.toThrow(/issued to another client id/);
    stores.data.set('w', stored({ refreshToken: undefined }));
    await expect(tokens.get(account)).rejects.toThrow(/gave no refresh token/);
    stores.data.set('w', stored());
    const err = (await tokens.get(account).catch((e: unknown) => e)) as MailboxError;
    expect(err).toMatchObject({ code: 'EAUTH' });
    expect(err.message).toMatch(/account w needs authorization: refreshing the OAuth token of account w was refused \(invalid_grant: AADSTS70000: revoked\)/);
    expect(err.hint).toMatch(/mailbox authorize w$/);
  });
});

describe('the credential resolver', () => {
  it('retries once, with a refreshed token, only after an authentication failure with a cached token', async () => {
    const now = { t: 0 };
    const { tokens, stores } = manager(now);
    stores.data.set('w', stored({ expiresAt: 3600_000 }));
    const credentials = credentialResolver({ secrets: { resolve: async () => 'pw' }, tokens });
    const first = await credentials.get(account);
    expect(first?.token?.source).toBe('cached');
    const auth = new MailboxError('EAUTH', 'refused');
    expect(await credentials.retry(account, first, new MailboxError('EUNREACHABLE', 'down'))).toBeUndefined();
    const second = await credentials.retry(account, first, auth);
    expect(second?.token?.source).toBe('refreshed');
    expect(await credentials.retry(account, second, auth)).toBeUndefined();
    const password = parseAccount({ name: 'p', type: 'imap', host: 'h.test', user: 'u', secret: { kind: 'env', name: 'X' } });
    expect(await credentials.get(password)).toEqual({ secret: 'pw' });
    expect(await credentials.retry(password, { secret: 'pw' }, auth)).toBeUndefined();
  });
});

describe('the token file', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const key = Buffer.alloc(32, 1).toString('base64');

  it('is sealed with MAILBOX_TOKEN_KEY (AES-256-GCM, bound to the account), plain JSON without it', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mbx-tokens-'));
    const sealed = fileTokenStore(dir, { MAILBOX_TOKEN_KEY: key });
    await sealed.save('Work', stored({ refreshToken: 'rt-secret-value' }));
    const text = readFileSync(path.join(dir, 'work.json'), 'utf8');
    expect(text).not.toContain('rt-secret-value');
    expect(JSON.parse(text)).toMatchObject({ v: 1, alg: 'A256GCM' });
    expect(await sealed.load('work')).toMatchObject({ refreshToken: 'rt-secret-value' });
    await expect(fileTokenStore(dir, {}).load('work')).rejects.toThrow(/encrypted, and MAILBOX_TOKEN_KEY is not set/);
    await expect(fileTokenStore(dir, { MAILBOX_TOKEN_KEY: Buffer.alloc(32, 2).toString('hex') }).load('work')).rejects.toThrow(/cannot be decrypted/);
    // Copied to another account's name: refused, not read as that account's tokens.
    const { copyFileSync } = await import('node:fs');
    copyFileSync(path.join(dir, 'work.json'), path.join(dir, 'other.json'));
    await expect(sealed.load('other')).rejects.toThrow(/cannot be decrypted/);
    await expect(fileTokenStore(dir, { MAILBOX_TOKEN_KEY: 'short' }).check()).resolves.toMatchObject({ code: 'ECONFIG' });
    const plain = fileTokenStore(dir, {});
    await plain.save('p', stored());
    expect(await plain.load('p')).toMatchObject({ refreshToken: 'rt-0' });
    expect(await plain.remove('p')).toBe(true);
    expect(await plain.load('p')).toBeUndefined();
  });

  it('the refresh lock serializes two holders', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mbx-tokens-'));
    const locks = fileTokenLocks(dir);
    const order: string[] = [];
    await Promise.all(
      ['a', 'b'].map((who) =>
        locks.exclusive('w', async () => {
          order.push(`${who} in`);
          await new Promise((r) => setTimeout(r, 50));
          order.push(`${who} out`);
        }),
      ),
    );
    expect([order[0]!.slice(2), order[1]!.slice(2)]).toEqual(['in', 'out']);
  });
});

describe('provider errors in words', () => {
  it('names the known Microsoft and Google failures', () => {
    expect(oauthFailure({ error: 'invalid_client', error_description: 'AADSTS7000218: The request body must contain client_assertion' }, 'x').hint).toMatch(/Allow public client flows/);
    expect(oauthFailure({ error: 'unauthorized_client', error_description: 'AADSTS700016: Application not found' }, 'x').hint).toMatch(/client id is not known/);
    expect(oauthFailure({ error: 'invalid_grant', error_description: 'AADSTS65001: consent' }, 'x', 'w').hint).toMatch(/consent is missing.*mailbox authorize w/);
    expect(oauthFailure({ error: 'invalid_request', error_description: 'AADSTS50011: redirect' }, 'x').hint).toMatch(/redirect URI is not registered/);
    expect(oauthFailure({ error: 'invalid_scope' }, 'x').hint).toMatch(/Google does not allow its mail scope .* on the device flow/);
    expect(oauthFailure({ error: 'invalid_grant', error_description: 'Token has been expired or revoked.' }, 'x', 'g').hint).toMatch(/"Testing" publishing status .* 7 days/);
    expect(oauthFailure({ error: 'temporarily_unavailable' }, 'x').code).toBe('ETEMPFAIL');
    expect(oauthFailure(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }), 'x').code).toBe('EUNREACHABLE');
  });

  it('a JWT access token is decoded (not verified) for the token stage; an opaque one says nothing', () => {
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const jwt = `${part({ alg: 'RS256' })}.${part({ aud: 'https://outlook.office.com', scp: 'IMAP.AccessAsUser.All', tid: 't', upn: 'me@x.test', exp: 2 })}.sig`;
    expect(tokenClaims(jwt)).toEqual({ aud: 'https://outlook.office.com', scp: 'IMAP.AccessAsUser.All', tid: 't', upn: 'me@x.test', exp: 2000 });
    expect(tokenClaims('ya29.opaque-google-token')).toBeUndefined();
  });
});

describe('the token stage', () => {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const jwt = `${part({ alg: 'RS256' })}.${part({ aud: 'https://outlook.office.com', roles: ['IMAP.AccessAsApp'], tid: 't', exp: 1_000_000 + 3600 })}.sig`;
  const now = new Date(1_000_000_000);

  it('a token from the token manager: source, store, expiry, scopes, claims', () => {
    const stage = tokenStage(account, { secret: jwt, token: { token: jwt, source: 'obtained', store: 'file', profile: 'm365', expiresAt: now.getTime() + 30 * MIN, scope: 'https://outlook.office365.com/.default' } }, now);
    expect(stage.detail).toBe('obtained (token file, profile m365); expires 1970-01-12 14:16:40 UTC (in 30 min); scopes https://outlook.office365.com/.default; JWT aud https://outlook.office.com, roles IMAP.AccessAsApp, tid t');
    expect(stage.data).toMatchObject({ source: 'obtained', store: 'file', scopes: ['https://outlook.office365.com/.default'], claims: { roles: ['IMAP.AccessAsApp'], upn: null } });
    // Each store by its name: tokens on the database store are not said to be in a keychain.
    for (const [store, words] of [['keychain', 'keychain'], ['database', 'database']] as const) {
      expect(tokenStage(account, { secret: jwt, token: { token: jwt, source: 'cached', store, profile: 'm365' } }, now).detail).toMatch(new RegExp(`^cached \\(${words}, profile m365\\)`));
    }
  });

  it('a token fetched elsewhere (a secret source): its expiry from the JWT, or unknown for an opaque one', () => {
    const fetched = parseAccount({ name: 'f', type: 'imap', host: 'h.test', user: 'u', auth: 'oauth2', secret: { kind: 'env', name: 'TOKEN' } });
    expect(tokenStage(fetched, { secret: jwt }, now).detail).toMatch(/^from the environment variable TOKEN; expires 1970-01-12 14:46:40 UTC \(in 60 min\); JWT aud/);
    expect(tokenStage(fetched, { secret: 'opaque' }, now)).toEqual({ detail: 'from the environment variable TOKEN; expiry unknown', data: { source: 'secret', store: null, profile: null, expiresAt: null, scopes: null, claims: null } });
  });
});
