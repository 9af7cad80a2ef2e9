// A local OAuth 2.0 authorization server for the tests, over HTTPS with the harness CA on loopback:
// device authorization (RFC 8628: pending, slow_down, denial, expiry), /authorize that approves by
// itself and redirects to the loopback URI (RFC 8252; PKCE S256 and state checked), the token endpoint
// (authorization code, device code, refresh tokens that rotate on every use with reuse answered
// invalid_grant, client credentials), revocation (RFC 7009) and introspection (RFC 7662) for Dovecot's
// oauth2 passdb and the SMTP server. Access tokens look like JWTs (decodable claims, not signed).
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import type { TestCerts } from './certs.js';
import { HOST } from './ports.js';

export interface OAuthClientReg {
  id: string;
  /** Confidential clients; public ones have none. */
  secret?: string;
}

interface AccessGrant {
  user: string;
  client: string;
  scope: string;
  exp: number;
  active: boolean;
  family: string;
}

interface RefreshGrant {
  user: string;
  client: string;
  scope: string;
  used: boolean;
  family: string;
}

interface DeviceGrant {
  client: string;
  scope: string;
  userCode: string;
  exp: number;
  state: 'pending' | 'approved' | 'denied';
  user?: string;
  polls: number;
  lastPoll?: number;
}

export interface OAuthServerOptions {
  certs: TestCerts;
  clients: OAuthClientReg[];
}

export interface OAuthServer {
  origin: string;
  issuer: string;
  tokenUrl: string;
  authorizeUrl: string;
  deviceUrl: string;
  introspectUrl: string;
  revokeUrl: string;
  caFile: string;
  /** Seconds an access token lives (default 3600). */
  expiresIn: number;
  /** Seconds a device code lives (default 600) and the polling interval (default 1). */
  deviceExpiresIn: number;
  deviceInterval: number;
  /** Rotate the refresh token on every use (default true). */
  rotate: boolean;
  /** The user an app-only (client credentials) token acts for. */
  appUser: string;
  /** slow_down to the first N polls of every device code. */
  slowDownPolls: number;
  /** The token endpoint answers this late (ms): a slow authorization server. */
  tokenDelayMs: number;
  /** What /authorize does: approve as the login_hint user, or deny. */
  authorizeAnswer: 'approve' | 'deny';
  /** Approves (or denies) the device code shown to the user. */
  approveDevice(userCode: string, user: string): void;
  denyDevice(userCode: string): void;
  /** Called with each device authorization: the test plays the user. */
  onDevice?: (userCode: string) => void;
  /** Every token handed out (access and refresh), to grep outputs and files for. */
  issued(): string[];
  /** Counts of token requests by grant type. */
  grants: Record<string, number>;
  introspections: number;
  /** Revokes every token of a user (their grant families). */
  revokeUser(user: string): void;
  /** Every access token of the user stops working now (the server forgets them early). */
  expireAccessTokens(user: string): void;
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');
const token = (prefix: string) => `${prefix}${randomBytes(24).toString('base64url')}`;

export async function startOAuthServer(o: OAuthServerOptions): Promise<OAuthServer> {
  const access = new Map<string, AccessGrant>();
  const refresh = new Map<string, RefreshGrant>();
  const devices = new Map<string, DeviceGrant>();
  const codes = new Map<string, { client: string; redirect: string; challenge: string; scope: string; user: string; used: boolean }>();
  const issued: string[] = [];
  const revokedFamilies = new Set<string>();
  let origin = '';

  const clientOf = (id: string | null) => o.clients.find((c) => c.id === id);

  const server = https.createServer({ key: readFileSync(o.certs.keyFile), cert: readFileSync(o.certs.chainFile) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = () => {
        try {
          handle(req, res, Buffer.concat(chunks).toString('utf8'));
        } catch (err) {
          json(res, 500, { error: 'server_error', error_description: String(err) });
        }
      };
      if (req.url?.startsWith('/token') && api.tokenDelayMs > 0) setTimeout(answer, api.tokenDelayMs);
      else answer();
    });
  });

  function json(res: import('node:http').ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  }

  function oauthError(res: import('node:http').ServerResponse, error: string, description: string, status = 400) {
    json(res, status, { error, error_description: description });
  }

  function issueAccess(user: string, client: string, scope: string, family: string) {
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const claims = b64url(JSON.stringify({ aud: 'https://outlook.office.com', scp: scope.split(' ').map((s) => s.replace(/^.*\//, '')).join(' '), tid: 'test-tenant-0001', upn: user, iat: now, exp: now + api.expiresIn }));
    const at = `${header}.${claims}.${randomBytes(32).toString('base64url')}`;
    access.set(at, { user, client, scope, exp: Date.now() + api.expiresIn * 1000, active: true, family });
    issued.push(at);
    return at;
  }

  function issue(res: import('node:http').ServerResponse, user: string, client: string, scope: string, family: string, withRefresh: boolean) {
    const body: Record<string, unknown> = { token_type: 'Bearer', access_token: issueAccess(user, client, scope, family), expires_in: api.expiresIn, scope };
    if (withRefresh) {
      const rt = token('rt-');
      refresh.set(rt, { user, client, scope, used: false, family });
      issued.push(rt);
      body.refresh_token = rt;
    }
    json(res, 200, body);
  }

  /** client_secret_post or basic; a public client sends only its id. */
  function authenticate(req: import('node:http').IncomingMessage, form: URLSearchParams): OAuthClientReg | string {
    let id = form.get('client_id');
    let secret = form.get('client_secret');
    const basic = req.headers.authorization?.match(/^Basic (.+)$/);
    if (basic) [id, secret] = Buffer.from(basic[1]!, 'base64').toString().split(':').map(decodeURIComponent) as [string, string];
    const client = clientOf(id);
    if (!client) return `unknown client ${id}`;
    if (client.secret && client.secret !== secret) return 'wrong client secret';
    if (!client.secret && secret) return 'a public client sent a secret';
    return client;
  }

  function handle(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, body: string) {
    const url = new URL(req.url ?? '/', origin);
    const form = new URLSearchParams(body);
    switch (url.pathname) {
      case '/authorize': {
        const q = url.searchParams;
        const client = clientOf(q.get('client_id'));
        const redirect = q.get('redirect_uri') ?? '';
        if (!client) return oauthError(res, 'invalid_client', 'unknown client');
        if (!/^http:\/\/127\.0\.0\.1:\d+\/$/.test(redirect)) return oauthError(res, 'invalid_request', `redirect_uri ${redirect} is not a loopback URI`);
        if (q.get('response_type') !== 'code') return oauthError(res, 'unsupported_response_type', 'code only');
        if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) return oauthError(res, 'invalid_request', 'PKCE S256 required');
        const state = q.get('state');
        if (!state) return oauthError(res, 'invalid_request', 'state required');
        const back = new URL(redirect);
        back.searchParams.set('state', state);
        if (api.authorizeAnswer === 'deny') back.searchParams.set('error', 'access_denied');
        else {
          const code = token('code-');
          codes.set(code, { client: client.id, redirect, challenge: q.get('code_challenge')!, scope: q.get('scope') ?? '', user: q.get('login_hint') ?? 'alice', used: false });
          back.searchParams.set('code', code);
        }
        res.writeHead(302, { location: back.href }).end();
        return;
      }
      case '/device': {
        const client = authenticate(req, form);
        if (typeof client === 'string') return oauthError(res, 'invalid_client', client, 401);
        const deviceCode = token('dc-');
        const userCode = randomBytes(4).toString('hex').toUpperCase();
        devices.set(deviceCode, { client: client.id, scope: form.get('scope') ?? '', userCode, exp: Date.now() + api.deviceExpiresIn * 1000, state: 'pending', polls: 0 });
        json(res, 200, { device_code: deviceCode, user_code: userCode, verification_uri: `${origin}/device/verify`, expires_in: api.deviceExpiresIn, interval: api.deviceInterval });
        setImmediate(() => api.onDevice?.(userCode));
        return;
      }
      case '/token': {
        if (req.method !== 'POST') return oauthError(res, 'invalid_request', 'POST only', 405);
        const client = authenticate(req, form);
        if (typeof client === 'string') return oauthError(res, 'invalid_client', client, 401);
        const grant = form.get('grant_type') ?? '';
        api.grants[grant] = (api.grants[grant] ?? 0) + 1;
        if (grant === 'authorization_code') {
          const code = codes.get(form.get('code') ?? '');
          if (!code || code.used || code.client !== client.id) return oauthError(res, 'invalid_grant', 'unknown or used code');
          code.used = true;
          if (form.get('redirect_uri') !== code.redirect) return oauthError(res, 'invalid_grant', 'redirect_uri differs from the authorization request');
          const verifier = form.get('code_verifier') ?? '';
          if (b64url(createHash('sha256').update(verifier).digest()) !== code.challenge) return oauthError(res, 'invalid_grant', 'PKCE verification failed');
          return issue(res, code.user, client.id, code.scope, token('f-'), true);
        }
        if (grant === 'urn:ietf:params:oauth:grant-type:device_code') {
          const d = devices.get(form.get('device_code') ?? '');
          if (!d || d.client !== client.id) return oauthError(res, 'invalid_grant', 'unknown device code');
          d.polls++;
          if (Date.now() > d.exp) return oauthError(res, 'expired_token', 'the device code expired');
          if (d.polls <= api.slowDownPolls) return oauthError(res, 'slow_down', 'poll slower');
          if (d.state === 'denied') return oauthError(res, 'access_denied', 'the user declined');
          if (d.state === 'pending') return oauthError(res, 'authorization_pending', 'waiting for the user');
          devices.delete(form.get('device_code')!);
          return issue(res, d.user!, client.id, d.scope, token('f-'), true);
        }
        if (grant === 'refresh_token') {
          const rt = form.get('refresh_token') ?? '';
          const r = refresh.get(rt);
          if (!r || r.client !== client.id || revokedFamilies.has(r.family)) return oauthError(res, 'invalid_grant', 'AADSTS70000: the refresh token is revoked or unknown');
          if (r.used) {
            // Reuse of a rotated token: the whole family is revoked, as providers do.
            revokedFamilies.add(r.family);
            return oauthError(res, 'invalid_grant', 'AADSTS70000: the refresh token was already used');
          }
          if (api.rotate) r.used = true;
          const scope = form.get('scope') ?? r.scope;
          const body: Record<string, unknown> = { token_type: 'Bearer', access_token: issueAccess(r.user, client.id, scope, r.family), expires_in: api.expiresIn, scope };
          if (api.rotate) {
            const next = token('rt-');
            refresh.set(next, { ...r, used: false });
            issued.push(next);
            body.refresh_token = next;
          }
          return json(res, 200, body);
        }
        if (grant === 'client_credentials') {
          if (!client.secret) return oauthError(res, 'unauthorized_client', 'AADSTS7000218: client credentials need a confidential client');
          return issue(res, api.appUser, client.id, form.get('scope') ?? '', token('f-'), false);
        }
        return oauthError(res, 'unsupported_grant_type', grant);
      }
      case '/revoke': {
        const t = form.get('token') ?? '';
        const family = refresh.get(t)?.family ?? access.get(t)?.family;
        if (family) revokedFamilies.add(family);
        res.writeHead(200).end();
        return;
      }
      case '/introspect': {
        api.introspections++;
        let t = form.get('token') ?? url.searchParams.get('token') ?? '';
        const bearer = req.headers.authorization?.match(/^Bearer (.+)$/);
        if (!t && bearer) t = bearer[1]!;
        const a = access.get(t);
        const active = Boolean(a && a.active && Date.now() < a.exp && !revokedFamilies.has(a.family));
        return json(res, 200, active ? { active: true, username: a!.user, scope: a!.scope, client_id: a!.client, exp: Math.floor(a!.exp / 1000) } : { active: false });
      }
      default:
        res.writeHead(404).end('not found');
    }
  }

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve((server.address() as net.AddressInfo).port));
  });
  origin = `https://${HOST}:${port}`;

  const api: OAuthServer = {
    origin,
    issuer: origin,
    tokenUrl: `${origin}/token`,
    authorizeUrl: `${origin}/authorize`,
    deviceUrl: `${origin}/device`,
    introspectUrl: `${origin}/introspect`,
    revokeUrl: `${origin}/revoke`,
    caFile: o.certs.caFile,
    expiresIn: 3600,
    deviceExpiresIn: 600,
    deviceInterval: 1,
    rotate: true,
    appUser: 'alice',
    slowDownPolls: 0,
    tokenDelayMs: 0,
    authorizeAnswer: 'approve',
    approveDevice(userCode, user) {
      for (const d of devices.values()) if (d.userCode === userCode) Object.assign(d, { state: 'approved', user });
    },
    denyDevice(userCode) {
      for (const d of devices.values()) if (d.userCode === userCode) d.state = 'denied';
    },
    issued: () => [...issued],
    grants: {},
    introspections: 0,
    revokeUser(user) {
      for (const r of refresh.values()) if (r.user === user) revokedFamilies.add(r.family);
      for (const a of access.values()) if (a.user === user) revokedFamilies.add(a.family);
    },
    expireAccessTokens(user) {
      for (const a of access.values()) if (a.user === user) a.active = false;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return api;
}
