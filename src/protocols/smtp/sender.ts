// The SMTP side of Outgoing: one pooled nodemailer connection (loaded lazily) that carries every
// message of a send cycle, many sends queued on it at once. Large messages come as a stream, never
// read whole. The login is ours (login.ts) through nodemailer's custom authentication, so it is the
// probe's login exactly.
import os from 'node:os';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { Account } from '../../core/account.js';
import { nodemailerLogger, type DebugLog } from '../debug-log.js';
import { libraryTarget } from '../net/dns.js';
import { connectionTls } from '../net/library-tls.js';
import type { LookupFn } from '../net/socket.js';
import { Peer } from '../net/peer.js';
import type { Envelope, Outgoing, OutgoingMessage, SendResult } from '../types.js';
import { authMechanisms } from './ehlo.js';
import { classifySmtpError } from './failures.js';
import { smtpLogin } from './login.js';

export interface SmtpSenderOptions {
  /** The password or OAuth access token, resolved by the caller; absent for auth none. */
  secret?: string;
  debug?: DebugLog;
  timeoutMs?: number;
  /** Resolves the server's name (MAILBOX_DNS_SERVERS); default: nodemailer resolves it itself. */
  lookup?: LookupFn;
}

/** The method name under which nodemailer runs our login. */
const OUR_LOGIN = 'MAILBOX';

/** The EHLO name, given to nodemailer too, so that the second EHLO of our login says the same (nodemailer's own rule). */
function ehloName(): string {
  const host = os.hostname();
  return host.includes('.') ? host : '[127.0.0.1]';
}

/**
 * nodemailer options that make it log in with our login: it calls the handler after EHLO, our choice
 * and exchange run over its connection. nodemailer hands over only the mechanisms it implements
 * itself (no SCRAM, no OAUTHBEARER), so the handler asks EHLO again for all of them: one round trip
 * per connection, and the choice is the probe's. `forceAuth`: a server that offers no AUTH fails the
 * login as `test` does, rather than getting mail it would refuse.
 */
function ourLogin(account: Account, secret: string): Pick<SMTPPool.Options, 'auth' | 'authMethod' | 'customAuth' | 'name'> & { forceAuth?: boolean } {
  if (account.auth === 'none') return {};
  const name = ehloName();
  return {
    name,
    auth: { user: account.user ?? '', pass: secret },
    authMethod: OUR_LOGIN,
    forceAuth: true,
    customAuth: {
      [OUR_LOGIN]: async ({ authMethods, sendCommand }) => {
        const send = async (line: string) => {
          const reply = await sendCommand(line);
          return { code: reply.status, text: reply.response };
        };
        try {
          const ehlo = await send(`EHLO ${name}`);
          // (nodemailer reads no status from a multi-line reply: "250-" is checked here.)
          const offered = /^250[ -]/.test(ehlo.text) ? authMechanisms(ehlo.text) : authMethods;
          await smtpLogin(new Peer(account), account, offered, secret, send);
        } catch (err) {
          // nodemailer rewrites what a handler rejects with (code, message + the raw reply): hand it
          // a carrier and keep our error, redacted and classified, as its cause.
          throw new Error('login failed', { cause: err });
        }
      },
    },
  };
}

export async function openSmtpSender(account: Account, options: SmtpSenderOptions): Promise<Outgoing> {
  const { default: nodemailer } = await import('nodemailer');
  const tls = await connectionTls(account, { lookup: options.lookup });
  const timeout = options.timeoutMs ?? 60_000;
  const target = await libraryTarget(new Peer(account), options.lookup, timeout);
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: 1,
    maxMessages: Infinity,
    ...target,
    port: account.port,
    secure: account.security === 'tls',
    requireTLS: account.security === 'starttls',
    ignoreTLS: account.security === 'none',
    ...ourLogin(account, options.secret ?? ''),
    tls,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: Math.max(timeout, 120_000),
    logger: options.debug ? (nodemailerLogger(options.debug) as never) : false,
    debug: Boolean(options.debug),
  });
  transport.on('error', () => undefined);
  return {
    async send(message: OutgoingMessage, envelope: Envelope): Promise<SendResult> {
      // The store hands small messages over whole (read while the previous one is on the wire) and
      // large ones as a stream.
      const raw = await message.content();
      const info = await transport.sendMail({ envelope: { from: envelope.from, to: envelope.to }, raw });
      const refused = ((info as { rejectedErrors?: Array<{ recipient?: string; response?: string }> }).rejectedErrors ?? []).map((r) => ({
        address: String(r.recipient ?? ''),
        reply: String(r.response ?? '').replace(/\s+/g, ' ').trim(),
      }));
      return { reply: String(info.response ?? '').trim(), accepted: (info.accepted ?? []).map(String), refused };
    },
    classify: (err) => classifySmtpError(err, account),
    async close() {
      transport.close();
    },
    abort() {
      transport.close();
    },
  };
}
