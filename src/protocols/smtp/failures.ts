// SMTP refusals as ours, the same for the probe (`mailbox test --send-to`) and the sender (nodemailer's
// errors). The one SMTP failure rule: a 5xx reply to a message fails it for good, a 4xx reply, no
// reply or a lost connection is worth a retry; a failure of the connection or the login, or a reply
// that says the account itself is wrong (530: log in first, or STARTTLS first; a relay refused to a
// client that did not log in), stops the whole send cycle. A refused recipient is named as such.
import type { Account } from '../../core/account.js';
import { MailboxError } from '../../core/errors.js';
import type { ProtocolError } from '../errors.js';
import { Peer } from '../net/peer.js';
import { useSecurity } from '../net/security-advice.js';
import type { Refusal, SendFailure } from '../types.js';

interface NodemailerError extends Error {
  code?: string;
  /** The system code nodemailer replaced with its own (ESOCKET, ECONNECTION, ...). */
  originalCode?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  /** EENVELOPE when every recipient was refused: each refusal, with its recipient. */
  rejectedErrors?: Array<{ recipient?: string; response?: string; responseCode?: number }>;
}

/** Failures of the connection or the login, not of one message: they stop the whole cycle. */
const CONNECTION_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EREQUIRETLS', 'EPROTOCOL', 'EAUTH', 'ENOAUTH', 'EOAUTH2', 'EPROXY']);

export type SmtpAccount = Pick<Account, 'name' | 'type' | 'host' | 'port' | 'security' | 'auth'>;

/** A server's reply to one command, on one line. */
export interface SmtpRefusal {
  code: number;
  text: string;
  /** The command it answered: "MAIL FROM", "RCPT TO", "end of DATA". */
  command: string;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** RFC 3207's 530 "must issue a STARTTLS command first" (to AUTH, MAIL, ...): the security setting is wrong. */
export function tlsRequired(peer: Peer, account: Pick<Account, 'security'>, refusal: SmtpRefusal): ProtocolError | undefined {
  const { code, text, command } = refusal;
  if (code !== 530 || !/STARTTLS|TLS first|encrypt/i.test(text)) return undefined;
  return peer.fail({
    code: 'ETLS',
    message: `account ${peer.account.name}: the server requires TLS before ${command}: ${oneLine(text)}`,
    hint: 'the server accepts this only over an encrypted connection',
    fixes: account.security === 'none' ? [useSecurity('starttls'), useSecurity('tls')] : [useSecurity('tls')],
    response: text,
    command,
  });
}

/**
 * A reply that says the account is wrong, not the message: TLS first (above), or RFC 4954's 530
 * "authentication required" (or a relay refused to a client that did not log in).
 */
export function accountRefusal(peer: Peer, account: Pick<Account, 'auth' | 'security'>, refusal: SmtpRefusal): ProtocolError | undefined {
  const tls = tlsRequired(peer, account, refusal);
  if (tls) return tls;
  const { code, text, command } = refusal;
  const reply = oneLine(text);
  const name = peer.account.name;
  const relayRefused = code >= 500 && account.auth === 'none' && /\b5\.7\.[01]\b|relay/i.test(text) && /relay|auth/i.test(text);
  if (code === 530 || relayRefused) {
    return peer.fail({
      code: 'EAUTH',
      message: `account ${name}: the server requires authentication before ${command}: ${reply}`,
      hint:
        account.auth === 'none'
          ? 'the account sends without logging in, and this server takes mail only from clients that log in: use password authentication with a user and a secret'
          : 'the server did not take the login as enough to send: check the user name and password',
      fixes: [account.auth === 'none' ? { field: 'auth', value: 'password' } : { field: 'password' }],
      response: text,
      command,
    });
  }
  return undefined;
}

/** A recipient refused by the server: named, 4xx temporary (75), 5xx an address the server will not take (65). */
export function recipientRefused(peer: Peer, recipient: string, refusal: SmtpRefusal): ProtocolError {
  const reply = oneLine(refusal.text);
  const name = peer.account.name;
  if (refusal.code >= 400 && refusal.code < 500) {
    return peer.fail({ code: 'ETEMPFAIL', message: `account ${name}: the server deferred the recipient ${recipient}: ${reply}`, hint: 'a temporary refusal: try again later', response: refusal.text, command: refusal.command });
  }
  return peer.fail({
    code: 'EVALUE',
    message: `account ${name}: the server refused the recipient ${recipient}: ${reply}`,
    hint: "check the address; the server's reply says why it was refused",
    response: refusal.text,
    command: refusal.command,
  });
}

/** Our own failure (the login is ours) carried through nodemailer, which wraps what a handler rejects with. */
function ours(err: unknown): MailboxError | undefined {
  if (err instanceof MailboxError) return err;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause instanceof MailboxError ? cause : undefined;
}

/** The reply nodemailer kept, as a refusal of the command it answered. */
function refusalOf(e: NodemailerError): SmtpRefusal | undefined {
  if (e?.responseCode === undefined) return undefined;
  return { code: e.responseCode, text: e.response ?? e.message ?? '', command: e.command ?? 'the message' };
}

/** Every recipient refused (nodemailer's EENVELOPE): each with its reply. */
function refusedRecipients(e: NodemailerError): Refusal[] | undefined {
  const each = e?.rejectedErrors?.filter((r) => r.recipient);
  return each?.length ? each.map((r) => ({ address: r.recipient!, reply: oneLine(r.response ?? '') })) : undefined;
}

/** Classifies an error thrown by send() for `account`. */
export function classifySmtpError(err: unknown, account: SmtpAccount): SendFailure {
  const own = ours(err);
  // Our own failures are the login's (nodemailer runs it as its custom authentication): before any message.
  if (own) return { permanent: false, connection: true, untried: true, message: own.message };
  const e = err as NodemailerError;
  const refusal = refusalOf(e);
  const refused = refusedRecipients(e);
  const accountWide = refusal && accountRefusal(new Peer(account), account, refusal);
  const connection = Boolean(accountWide) || CONNECTION_CODES.has(e?.code ?? '') || e?.responseCode === 421;
  if (refused) {
    const permanent = !connection && refused.every((r) => /^5/.test(r.reply));
    const each = refused.map((r) => `${r.address} (${r.reply})`).join(', ');
    const message = refused.length === 1 ? `the recipient was refused: ${each}` : `every recipient was refused: ${each}`;
    return { permanent, connection, message, refused };
  }
  const permanent = !connection && e?.responseCode !== undefined && e.responseCode >= 500 && e.responseCode < 600 && e.responseCode !== 503;
  return { permanent, connection, message: oneLine(e?.response ?? e?.message ?? String(err)) };
}

/** nodemailer wraps socket errors (ESOCKET, ECONNECTION, EDNS); the system code is kept aside or in the message. */
function systemCode(e: NodemailerError): string | undefined {
  if (e.originalCode) return e.originalCode;
  const inMessage = /\b(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EPIPE)\b/.exec(e.message ?? '')?.[1];
  return inMessage ?? (e.code === 'EDNS' ? 'ENOTFOUND' : undefined);
}

/** The MailboxError for a cycle that failed on the connection, the login, or a reply that faults the account. */
export function smtpAccountFailure(err: unknown, account: Account): MailboxError {
  const own = ours(err);
  if (own) return own;
  const e = (err ?? {}) as NodemailerError;
  const peer = new Peer(account);
  const refusal = refusalOf(e);
  const accountWide = refusal && accountRefusal(peer, account, refusal);
  if (accountWide) return accountWide;
  if (e.responseCode === 421) {
    return peer.fail({ code: 'ETEMPFAIL', message: `account ${account.name}: the server closed the session: ${e.response ?? e.message}`, response: e.response, cause: err });
  }
  peer.stage = e.code === 'ETLS' ? 'tls' : e.code === 'ETIMEDOUT' ? 'greeting' : 'connect';
  const code = systemCode(e);
  if (code) return peer.system(Object.assign(new Error(e.message), { code }));
  if (e.code === 'ECONNECTION') return peer.closed(e.message, err);
  return peer.system(err);
}
