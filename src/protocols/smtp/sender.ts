// The SMTP side of Outgoing: one pooled nodemailer connection (loaded lazily) that carries every
// message of a send cycle, many sends queued on it at once. Large messages are streamed from their
// files (raw: {path}), never read whole.
import type { Account } from '../../core/account.js';
import { MailboxError } from '../../core/errors.js';
import { nodemailerLogger, type DebugLog } from '../debug-log.js';
import { networkFailure } from '../errors.js';
import { connectionTls } from '../net/library-tls.js';
import type { Envelope, Outgoing, OutgoingMessage, SendFailure, SendResult } from '../types.js';

export interface SmtpSenderOptions {
  /** The password or OAuth access token, resolved by the caller; absent for auth none. */
  secret?: string;
  debug?: DebugLog;
  timeoutMs?: number;
}

interface NodemailerError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  permanent?: boolean;
}

/** Failures of the connection or the login, not of one message: they stop the whole cycle. */
const CONNECTION_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EREQUIRETLS', 'EPROTOCOL', 'EAUTH', 'ENOAUTH', 'EOAUTH2', 'EPROXY']);

export function classifySmtpError(err: unknown): SendFailure {
  const e = err as NodemailerError;
  const connection = CONNECTION_CODES.has(e?.code ?? '') || e?.responseCode === 421;
  const permanent = !connection && e?.responseCode !== undefined && e.responseCode >= 500 && e.responseCode < 600 && e.responseCode !== 503;
  const message = (e?.response ?? e?.message ?? String(err)).replace(/\s+/g, ' ').trim();
  return { permanent, connection, message };
}

/** The MailboxError for a cycle that failed on the connection or the login. */
export function smtpAccountFailure(err: unknown, account: Account): MailboxError {
  const e = err as NodemailerError;
  if (err instanceof MailboxError) return err;
  if (e?.code === 'EAUTH' || e?.code === 'ENOAUTH') {
    return new MailboxError('EAUTH', `account ${account.name}: authentication failed for user ${account.user}: ${(e.response ?? e.message).trim()}`, {
      hint: `check the user name and password; update the password with mailbox edit ${account.name} --password-stdin`,
      cause: err,
    });
  }
  if (e?.responseCode === 421) {
    return new MailboxError('ETEMPFAIL', `account ${account.name}: the server closed the session: ${e.response ?? e.message}`, { cause: err });
  }
  const step = e?.code === 'ETLS' ? 'tls' : e?.code === 'ETIMEDOUT' ? 'greeting' : 'connect';
  // nodemailer wraps socket errors (ESOCKET, ECONNECTION, EDNS); the system code is in the message.
  const errno = /\b(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EPIPE)\b/.exec(e?.message ?? '')?.[1];
  const code = errno ?? (e?.code === 'ECONNECTION' ? 'ECONNCLOSED' : e?.code === 'EDNS' ? 'ENOTFOUND' : e?.code);
  const cause = Object.assign(new Error(e?.message ?? String(err)), { code });
  return networkFailure(cause, account, step);
}

/** Starts loading nodemailer in the background (the runner knows early that it will need it). */
export function preloadNodemailer(): void {
  import('nodemailer').catch(() => undefined);
}

export async function openSmtpSender(account: Account, options: SmtpSenderOptions): Promise<Outgoing> {
  const { default: nodemailer } = await import('nodemailer');
  const tls = await connectionTls(account);
  const auth =
    account.auth === 'none'
      ? undefined
      : account.auth === 'oauth2'
        ? { type: 'OAuth2' as const, user: account.user ?? '', accessToken: options.secret ?? '' }
        : { user: account.user ?? '', pass: options.secret ?? '' };
  const timeout = options.timeoutMs ?? 60_000;
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: 1,
    maxMessages: Infinity,
    host: account.host,
    port: account.port,
    secure: account.security === 'tls',
    requireTLS: account.security === 'starttls',
    ignoreTLS: account.security === 'none',
    auth,
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
      return {
        reply: String(info.response ?? '').trim(),
        accepted: (info.accepted ?? []).map(String),
        rejected: (info.rejected ?? []).map(String),
      };
    },
    classify: classifySmtpError,
    async close() {
      transport.close();
    },
    abort() {
      transport.close();
    },
  };
}
