// Reading whole replies of the three protocols off a LineSession, and the STARTTLS/STLS requests.
// A reply that is not the protocol, or that refuses, fails with the session's Peer's words.
import type net from 'node:net';
import os from 'node:os';
import type { AccountType } from '../../core/account.js';
import type { ProtocolError } from '../errors.js';
import type { LineSession } from './line-session.js';

/** Most bytes of one reply (all its lines and literals): far above any real one, so memory stays bounded. */
const MAX_REPLY_BYTES = 1024 * 1024;

function tooLong(session: LineSession, what: string): ProtocolError {
  return session.peer.violation(`${what} longer than ${MAX_REPLY_BYTES} bytes`);
}

export interface SmtpReply {
  code: number;
  lines: string[];
  /** All lines joined, as the server sent them (code included). */
  text: string;
}

/** One SMTP reply, multi-line ("250-...") included. */
export async function readSmtpReply(session: LineSession, step: string): Promise<SmtpReply> {
  const lines: string[] = [];
  const raw: string[] = [];
  let bytes = 0;
  for (;;) {
    const line = await session.readLine(step);
    const match = /^(\d{3})([ -]?)(.*)$/.exec(line);
    if (!match) throw session.peer.violation(`not an SMTP reply: ${JSON.stringify(line.slice(0, 200))}`, line);
    if (raw.length > 0 && !raw[0]!.startsWith(match[1]!)) throw session.peer.violation(`SMTP reply lines with different codes: ${raw[0]!.slice(0, 3)} then ${match[1]}`, line);
    bytes += line.length;
    if (bytes > MAX_REPLY_BYTES) throw tooLong(session, 'SMTP reply');
    lines.push(match[3]!);
    raw.push(line);
    if (match[2] !== '-') return { code: Number(match[1]), lines, text: raw.join('\n') };
  }
}

/** An SMTP 4xx: temporary (RFC 5321 4.2.1). */
export function smtpTemporary(reply: SmtpReply): boolean {
  return reply.code >= 400 && reply.code < 500;
}

export interface ImapTagged {
  status: 'OK' | 'NO' | 'BAD';
  text: string;
  untagged: string[];
  /** The whole tagged line. */
  line: string;
}

/** IMAP response codes (RFC 5530) that mean "not now": the failure is temporary. */
export function imapTemporary(line: string): boolean {
  return /\[(UNAVAILABLE|INUSE|LIMIT)\b/i.test(line);
}

/**
 * Lines that can never announce a literal (RFC 3501 7.1, 7.5): tagged completions, continuations and
 * untagged status responses carry free text, where "{5}" is just text (a refusal may quote our command).
 */
function withoutLiterals(line: string): boolean {
  return !line.startsWith('* ') || /^\* (OK|NO|BAD|BYE|PREAUTH)\b/i.test(line);
}

/**
 * One IMAP response line with its literals read in: a data line ending in {n} or {n+} is followed by
 * n raw bytes and the rest of the response (RFC 3501 4.3). `budget` bounds the bytes read.
 */
async function readImapResponse(session: LineSession, step: string, budget = MAX_REPLY_BYTES): Promise<string> {
  let response = await session.readLine(step);
  if (withoutLiterals(response)) {
    if (response.length > budget) throw tooLong(session, 'IMAP response');
    return response;
  }
  for (;;) {
    if (response.length > budget) throw tooLong(session, 'IMAP response');
    const literal = /\{(\d+)\+?\}$/.exec(response);
    if (!literal) return response;
    const size = Number(literal[1]);
    if (response.length + size > budget) throw tooLong(session, `IMAP literal of ${literal[1]} bytes:`);
    const bytes = await session.readBytes(size, step);
    response = `${response}\r\n${bytes.toString('utf8')}${await session.readLine(step)}`;
  }
}

/**
 * Untagged responses up to the tagged completion of `tag`. A continuation ("+ ...") ends it too
 * when `stopAtContinuation` (status OK, text after "+"). "* BYE", another tag, an unasked
 * continuation or a line that is not IMAP at all fail it: never read a reply out of turn.
 */
export async function readImapTagged(session: LineSession, tag: string, step: string, stopAtContinuation = false): Promise<ImapTagged> {
  const untagged: string[] = [];
  let budget = MAX_REPLY_BYTES;
  for (;;) {
    const line = await readImapResponse(session, step, budget);
    budget -= line.length;
    if (line.startsWith('+')) {
      if (stopAtContinuation) return { status: 'OK', text: line.slice(1).trim(), untagged, line };
      throw session.peer.violation(`unexpected continuation during ${step}: ${JSON.stringify(line.slice(0, 200))}`, line);
    }
    if (line.startsWith(`${tag} `)) {
      const match = /^\S+ (OK|NO|BAD)\b ?(.*)$/i.exec(line);
      if (!match) throw session.peer.violation(`not an IMAP status: ${JSON.stringify(line.slice(0, 200))}`, line);
      return { status: match[1]!.toUpperCase() as ImapTagged['status'], text: match[2]!, untagged, line };
    }
    if (/^\* BYE\b/i.test(line)) throw session.peer.ended(step, line, imapTemporary(line));
    if (!line.startsWith('* ')) {
      throw session.peer.violation(`unexpected line while waiting for the reply to ${step} (tag ${tag}): ${JSON.stringify(line.slice(0, 200))}`, line);
    }
    untagged.push(line);
  }
}

/**
 * The first reply of a server: SMTP 220, IMAP "* OK"/"* PREAUTH", POP3 "+OK". A refusal (SMTP
 * 421/554, IMAP "* BYE", POP3 "-ERR") fails as the server turning us away.
 */
export async function readGreeting(session: LineSession, type: AccountType): Promise<string> {
  const step = 'waiting for the server greeting';
  if (type === 'smtp') {
    const reply = await readSmtpReply(session, step);
    if (reply.code !== 220) throw session.peer.greetingRefused(reply.text, smtpTemporary(reply));
    return reply.text;
  }
  const line = type === 'imap' ? await readImapResponse(session, step) : await session.readLine(step);
  if (type === 'imap' ? /^\* (OK|PREAUTH)\b/i.test(line) : /^\+OK\b/i.test(line)) return line;
  if (type === 'imap' ? /^\* BYE\b/i.test(line) : /^-ERR\b/i.test(line)) {
    const temporary = type === 'imap' ? imapTemporary(line) : /^-ERR \[(SYS\/TEMP|IN-USE|LOGIN-DELAY)\b/i.test(line);
    throw session.peer.greetingRefused(line, temporary);
  }
  throw session.peer.violation(`not a ${type.toUpperCase()} greeting: ${JSON.stringify(line.slice(0, 200))}`, line);
}

/** SMTP EHLO; the extension lines (without the first, the greeting-like line). */
export async function ehlo(session: LineSession): Promise<string[]> {
  session.send(`EHLO ${ehloName(session.socket)}`);
  const reply = await readSmtpReply(session, 'EHLO');
  if (reply.code !== 250) throw session.peer.refused('EHLO', reply.text, smtpTemporary(reply));
  return reply.lines.slice(1);
}

/**
 * EHLO, falling back to HELO when the server rejects EHLO as unknown (RFC 5321 3.2: 500, 501, 502,
 * 504, 550): such a server offers no extensions. `helo` says which was used.
 */
export async function ehloOrHelo(session: LineSession): Promise<{ extensions: string[]; helo: boolean }> {
  const name = ehloName(session.socket);
  session.send(`EHLO ${name}`);
  const reply = await readSmtpReply(session, 'EHLO');
  if (reply.code === 250) return { extensions: reply.lines.slice(1), helo: false };
  if (![500, 501, 502, 504, 550].includes(reply.code)) throw session.peer.refused('EHLO', reply.text, smtpTemporary(reply));
  session.send(`HELO ${name}`);
  const helo = await readSmtpReply(session, 'HELO');
  if (helo.code !== 250) throw session.peer.refused('HELO', `${reply.text}; ${helo.text}`, smtpTemporary(helo));
  return { extensions: [], helo: true };
}

/**
 * Reads the greeting and asks for TLS the protocol's way; resolves when the server said go ahead.
 * The caller then upgrades the session. Used where only the certificate matters.
 */
export async function requestStartTls(session: LineSession, type: AccountType): Promise<void> {
  await readGreeting(session, type);
  if (type === 'smtp') {
    await ehlo(session);
    session.send('STARTTLS');
    const reply = await readSmtpReply(session, 'STARTTLS');
    if (reply.code !== 220) throw session.peer.refused('STARTTLS', reply.text, false);
  } else if (type === 'imap') {
    session.send('S1 STARTTLS');
    const done = await readImapTagged(session, 'S1', 'STARTTLS');
    if (done.status !== 'OK') throw session.peer.refused('STARTTLS', done.line, false);
  } else {
    session.send('STLS');
    const line = await session.readLine('STLS');
    if (!/^\+OK\b/i.test(line)) throw session.peer.refused('STLS', line, false);
  }
}

/** An EHLO name: the host name when it is fully qualified, else our address literal (as nodemailer). */
function ehloName(socket: net.Socket): string {
  const host = os.hostname();
  if (host.includes('.')) return host;
  const address = socket.localAddress ?? '127.0.0.1';
  return address.includes(':') ? `[IPv6:${address}]` : `[${address}]`;
}
