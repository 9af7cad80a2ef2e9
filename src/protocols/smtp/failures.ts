// nodemailer's failures as ours. The one SMTP failure rule: a 5xx reply to a message fails it for
// good, a 4xx reply, no reply or a lost connection is worth a retry; and a failure of the
// connection or the login (not of one message) stops the whole send cycle.
import type { Account } from '../../core/account.js';
import { MailboxError } from '../../core/errors.js';
import { Peer } from '../net/peer.js';
import type { SendFailure } from '../types.js';

interface NodemailerError extends Error {
  code?: string;
  /** The system code nodemailer replaced with its own (ESOCKET, ECONNECTION, ...). */
  originalCode?: string;
  responseCode?: number;
  response?: string;
}

/** Failures of the connection or the login, not of one message: they stop the whole cycle. */
const CONNECTION_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EREQUIRETLS', 'EPROTOCOL', 'EAUTH', 'ENOAUTH', 'EOAUTH2', 'EPROXY']);

/** Our own failure (the login is ours) carried through nodemailer, which wraps what a handler rejects with. */
function ours(err: unknown): MailboxError | undefined {
  if (err instanceof MailboxError) return err;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause instanceof MailboxError ? cause : undefined;
}

/** Classifies an error thrown by send(). */
export function classifySmtpError(err: unknown): SendFailure {
  const own = ours(err);
  // Our own failures are the login's (nodemailer runs it as its custom authentication): before any message.
  if (own) return { permanent: false, connection: true, untried: true, message: own.message };
  const e = err as NodemailerError;
  const connection = CONNECTION_CODES.has(e?.code ?? '') || e?.responseCode === 421;
  const permanent = !connection && e?.responseCode !== undefined && e.responseCode >= 500 && e.responseCode < 600 && e.responseCode !== 503;
  const message = (e?.response ?? e?.message ?? String(err)).replace(/\s+/g, ' ').trim();
  return { permanent, connection, message };
}

/** nodemailer wraps socket errors (ESOCKET, ECONNECTION, EDNS); the system code is kept aside or in the message. */
function systemCode(e: NodemailerError): string | undefined {
  if (e.originalCode) return e.originalCode;
  const inMessage = /\b(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EPIPE)\b/.exec(e.message ?? '')?.[1];
  return inMessage ?? (e.code === 'EDNS' ? 'ENOTFOUND' : undefined);
}

/** The MailboxError for a cycle that failed on the connection or the login. */
export function smtpAccountFailure(err: unknown, account: Account): MailboxError {
  const own = ours(err);
  if (own) return own;
  const e = (err ?? {}) as NodemailerError;
  const peer = new Peer(account);
  if (e.responseCode === 421) {
    return peer.fail({ code: 'ETEMPFAIL', message: `account ${account.name}: the server closed the session: ${e.response ?? e.message}`, response: e.response, cause: err });
  }
  peer.stage = e.code === 'ETLS' ? 'tls' : e.code === 'ETIMEDOUT' ? 'greeting' : 'connect';
  const code = systemCode(e);
  if (code) return peer.system(Object.assign(new Error(e.message), { code }));
  if (e.code === 'ECONNECTION') return peer.closed(e.message, err);
  return peer.system(err);
}
