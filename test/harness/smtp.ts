// SMTP test server in a child process (smtp-server.mjs), so the code under test and the vitest worker
// do not share its event loop. It listens on port 0 itself: no port race.
//   smtpPort: plain, STARTTLS offered (unless noStarttls), AUTH allowed before TLS and required to send
//   smtpsPort: implicit TLS
// Faults by recipient local part: reject*@ -> 550 5.1.1, defer*@ -> 451 4.3.0; over `size` -> 552.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCerts, type TestCerts } from './certs.js';
import { HOST } from './ports.js';
import { spawnDaemon, tailStderr, trackDir } from './procs.js';
import { USERS } from './users.js';

const SERVER = fileURLToPath(new URL('./smtp-server.mjs', import.meta.url));

export interface SmtpOptions {
  /** Hide and refuse STARTTLS on the plain port. */
  noStarttls?: boolean;
  /** Delay before the 220 greeting (ms), or 'never'; default 0 (smtp-server's own is 100). */
  greeting?: number | 'never';
  /** SIZE limit in bytes; default 10 MiB. */
  size?: number;
  /** Allow MAIL FROM without AUTH; default false. */
  authOptional?: boolean;
  /** Default PLAIN, LOGIN, CRAM-MD5, XOAUTH2 (XOAUTH2 token: `tok-<user>`). */
  authMethods?: string[];
  certs?: TestCerts;
  /** Check XOAUTH2 tokens against this RFC 7662 endpoint (https, trusting caFile) instead of `tok-<user>`. */
  introspect?: { url: string; caFile: string };
}

export interface SmtpMessage {
  /** MAIL FROM address ('' for the null sender). */
  from: string;
  to: string[];
  /** Exactly the DATA bytes received (dot-unstuffed, CRLF as sent, up to and including the last CRLF). */
  raw: Buffer;
  /** Authenticated user, or null. */
  user: string | null;
  /** Received over TLS (STARTTLS or implicit). */
  tls: boolean;
}

export interface SmtpServer {
  host: '127.0.0.1';
  smtpPort: number;
  smtpsPort: number;
  caFile: string;
  fingerprint: string;
  certs: TestCerts;
  users: Readonly<Record<string, string>>;
  dir: string;
  /** Every accepted message so far, in order (each is on disk before its 250 reply). */
  messages(): SmtpMessage[];
  /** Resolves with messages() once it holds at least n, rejects after timeoutMs (default 10 s). */
  waitForMessages(n: number, timeoutMs?: number): Promise<SmtpMessage[]>;
  /** Change the greeting delay for new connections. */
  setGreeting(delay: number | 'never'): Promise<void>;
  /** Idempotent. */
  stop(): Promise<void>;
}

export async function startSmtp(opts: SmtpOptions = {}): Promise<SmtpServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mbx-smtp-'));
  const untrack = trackDir(dir);
  try {
    const certs = opts.certs ?? (await makeCerts(path.join(dir, 'tls')));
    const cfg = {
      dir,
      keyFile: certs.keyFile,
      certFile: certs.chainFile,
      users: USERS,
      size: opts.size ?? 10 * 1024 * 1024,
      noStarttls: !!opts.noStarttls,
      authOptional: !!opts.authOptional,
      authMethods: opts.authMethods ?? ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2'],
      greetingDelayMs: delayOf(opts.greeting ?? 0),
      introspect: opts.introspect ?? null,
    };
    const d = spawnDaemon(process.execPath, [SERVER, JSON.stringify(cfg)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      removeDir: dir,
    });
    const stderr = tailStderr(d.child);
    const child = d.child;
    const ready = await new Promise<{ smtpPort: number; smtpsPort: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`smtp server did not start: ${stderr()}`)), 10_000);
      child.on('message', (m: { type: string; smtpPort: number; smtpsPort: number }) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve(m);
        }
      });
      void d.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`smtp server exited at start: ${stderr()}`));
      });
    }).catch(async (e: unknown) => {
      await d.stop('SIGKILL');
      throw e;
    });

    const messages = (): SmtpMessage[] => {
      let text = '';
      try {
        text = readFileSync(path.join(dir, 'messages.jsonl'), 'utf8');
      } catch {
        return [];
      }
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const r = JSON.parse(line) as Omit<SmtpMessage, 'raw'> & { file: string };
          return { from: r.from, to: r.to, user: r.user, tls: r.tls, raw: readFileSync(r.file) };
        });
    };
    let stopped: Promise<void> | undefined;
    return {
      host: HOST,
      smtpPort: ready.smtpPort,
      smtpsPort: ready.smtpsPort,
      caFile: certs.caFile,
      fingerprint: certs.fingerprint,
      certs,
      users: USERS,
      dir,
      messages,
      async waitForMessages(n, timeoutMs = 10_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const m = messages();
          if (m.length >= n) return m;
          if (Date.now() > deadline) throw new Error(`expected ${n} SMTP messages, got ${m.length}`);
          await new Promise((r) => setTimeout(r, 25));
        }
      },
      setGreeting: (delay) =>
        new Promise<void>((resolve, reject) => {
          const onMsg = (m: { type: string }) => {
            if (m.type !== 'greeting-set') return;
            child.off('message', onMsg);
            resolve();
          };
          child.on('message', onMsg);
          child.send({ type: 'greeting', delayMs: delayOf(delay) }, (err) => err && reject(err));
        }),
      stop: () =>
        (stopped ??= (async () => {
          await d.stop('SIGTERM', 2000);
          await rm(dir, { recursive: true, force: true });
          untrack();
        })()),
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    untrack();
    throw e;
  }
}

function delayOf(g: number | 'never'): number | null {
  return g === 'never' ? null : g;
}
