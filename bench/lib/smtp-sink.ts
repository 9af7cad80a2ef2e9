// The receiving SMTP server for the sending benchmark: smtp-server (the test suite's SMTP library) on an
// implicit-TLS loopback port, AUTH PLAIN/LOGIN, counting what it accepts and dropping the bytes.
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { SMTPServer } from 'smtp-server';
import type { Certs } from './certs.js';
import { freePort, HOST } from './dovecot.js';

export interface SmtpSink {
  port: number;
  /** Messages accepted (250 after DATA) since the last reset. */
  readonly accepted: number;
  readonly bytes: number;
  reset(): void;
  stop(): Promise<void>;
}

interface ConnectionPrototype {
  init(this: ConnectionPrototype): void;
  _setListeners(this: ConnectionPrototype, done: () => void): void;
  connectionReady(this: ConnectionPrototype): void;
}

/**
 * smtp-server 3.21.6 waits a hard-coded 100 ms before its greeting (to catch early talkers). That pause
 * would dominate a one-process-per-message client such as msmtp and is not what a production MTA does,
 * so the bench greets at once. Same body as the library's init() minus the timer and the client limit.
 */
async function greetWithoutDelay(): Promise<void> {
  const mod = (await import('smtp-server/lib/smtp-connection.js' as string)) as { SMTPConnection: { prototype: ConnectionPrototype } };
  mod.SMTPConnection.prototype.init = function init() {
    this._setListeners(() => this.connectionReady());
  };
}

export async function startSmtpSink(certs: Certs, user: string, password: string): Promise<SmtpSink> {
  await greetWithoutDelay();
  let accepted = 0;
  let bytes = 0;
  const server = new SMTPServer({
    secure: true,
    key: fs.readFileSync(certs.key),
    cert: fs.readFileSync(certs.chain),
    name: 'localhost',
    banner: 'mailbox bench sink',
    authMethods: ['PLAIN', 'LOGIN'],
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 1000,
    onAuth(auth, _session, cb) {
      if (auth.username === user && auth.password === password) return cb(null, { user });
      return cb(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
    },
    onData(stream: Readable, _session, cb) {
      let size = 0;
      stream.on('data', (c: Buffer) => (size += c.length));
      stream.on('end', () => {
        accepted++;
        bytes += size;
        cb(null, `2.0.0 Queued as bench-${accepted}`);
      });
    },
  });
  server.on('error', () => undefined);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, HOST, () => resolve()));
  return {
    port,
    get accepted() {
      return accepted;
    },
    get bytes() {
      return bytes;
    },
    reset() {
      accepted = 0;
      bytes = 0;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
