// The world the OAuth tests run in: the OAuth 2.0 test server (HTTPS, harness CA), Dovecot checking
// XOAUTH2/OAUTHBEARER logins against its introspection endpoint, the SMTP server doing the same, and
// a private Secret Service for the keychain. `mailbox` trusts the CA through NODE_EXTRA_CA_CERTS.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  makeCerts,
  startDovecot,
  startOAuthServer,
  startSecretService,
  startSmtp,
  type Dovecot,
  type OAuthServer,
  type SecretService,
  type SmtpServer,
} from '../harness/index.js';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { baseEnv, BIN, tmpHome } from './cli.js';

export const PUBLIC_CLIENT = 'mailbox-public';
export const APP_CLIENT = 'mailbox-app';
export const APP_SECRET = 'app-secret-4b1d';

export interface OAuthWorld {
  oauth: OAuthServer;
  dovecot: Dovecot;
  smtp: SmtpServer;
  keychain: SecretService;
  /** The environment every mailbox run gets: the CA, the Secret Service, the app's client secret. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function startOAuthWorld(): Promise<OAuthWorld> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mbx-oauth-'));
  // Dovecot's auth process (not root) reads the CA to check the introspection endpoint.
  await chmod(dir, 0o755);
  const certs = await makeCerts(path.join(dir, 'tls'));
  const oauth = await startOAuthServer({ certs, clients: [{ id: PUBLIC_CLIENT }, { id: APP_CLIENT, secret: APP_SECRET }] });
  const introspect = { url: oauth.introspectUrl, caFile: certs.caFile };
  const [dovecot, smtp, keychain] = await Promise.all([
    startDovecot({ certs, oauth2: { introspectUrl: oauth.introspectUrl, caFile: certs.caFile } }),
    startSmtp({ certs, introspect }),
    startSecretService(),
  ]);
  return {
    oauth,
    dovecot,
    smtp,
    keychain,
    env: { ...keychain.env, NODE_EXTRA_CA_CERTS: certs.caFile, APP_SECRET },
    async stop() {
      await Promise.all([oauth.stop(), dovecot.stop(), smtp.stop(), keychain.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A profile on the test server (generic: its endpoints given). */
export function profileArgs(world: OAuthWorld, name: string, extra: string[] = []): string[] {
  const o = world.oauth;
  return ['oauth', 'add', name, '--provider', 'generic', '--client-id', PUBLIC_CLIENT, '--token-url', o.tokenUrl, '--device-url', o.deviceUrl, '--auth-url', o.authorizeUrl, '--scope', 'mail', '--scope', 'offline_access', ...extra];
}

/** The three accounts of alice on the harness servers, authorizing with `profile`. */
export function accountArgs(world: OAuthWorld, profile: string, prefix = 'o'): string[][] {
  const { dovecot, smtp } = world;
  const common = ['--user', 'alice', '--auth', 'oauth2', '--oauth', profile];
  return [
    ['add', '--type', 'imap', '--name', `${prefix}-imap`, '--host', dovecot.host, '--port', String(dovecot.imapsPort), '--ca', dovecot.caFile, ...common],
    ['add', '--type', 'pop3', '--name', `${prefix}-pop`, '--host', dovecot.host, '--port', String(dovecot.pop3sPort), '--ca', dovecot.caFile, ...common],
    ['add', '--type', 'smtp', '--name', `${prefix}-smtp`, '--host', smtp.host, '--port', String(smtp.smtpsPort), '--ca', smtp.caFile, '--from', 'alice@example.test', ...common],
  ];
}

export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** mailbox in the background, stdin kept open (for a pasted URL). */
export function startMailbox(args: string[], home: string, env: NodeJS.ProcessEnv): Running {
  const child = spawn(process.execPath, [BIN, ...args], { env: baseEnv({ MAILBOX_HOME: home, ...env }), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.stdin!.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

export async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The world for one test file (started before its tests, stopped after) and a fresh MAILBOX_HOME per
 * call of home(), removed after each test.
 */
export function useOAuthWorld(): { world: () => OAuthWorld; home: () => string } {
  let world: OAuthWorld | undefined;
  const homes: Array<() => void> = [];
  beforeAll(async () => {
    world = await startOAuthWorld();
  }, 90_000);
  afterAll(async () => {
    await world?.stop();
  });
  afterEach(() => {
    for (const cleanup of homes.splice(0)) cleanup();
  });
  return {
    world: () => world!,
    home: () => {
      const { home, cleanup } = tmpHome('mailbox-oauth-');
      homes.push(cleanup);
      return home;
    },
  };
}
