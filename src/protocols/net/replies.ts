// Reading whole replies of the three protocols off a LineSession, and the STARTTLS/STLS requests.
import type { AccountType } from '../../core/account.js';
import { ehloName, ProtocolViolation, type LineSession } from './line-session.js';

/** A reply the server sent that ends the conversation step unsuccessfully. */
export class ServerReplyError extends Error {
  readonly code = 'EREPLY';
  /** The server said to try again later (SMTP 4xx, a temporary IMAP/POP3 response code). */
  readonly temporary: boolean;
  /** The refusal came as the greeting (the server turned us away before any command). */
  readonly greeting: boolean;
  /** IMAP "* BYE": the server ended the session. */
  readonly bye: boolean;
  constructor(
    readonly command: string,
    readonly response: string,
    flags: { temporary?: boolean; greeting?: boolean; bye?: boolean } = {},
  ) {
    super(flags.bye ? `the server ended the session (${command}): ${response}` : `${command} was refused: ${response}`);
    this.name = 'ServerReplyError';
    this.temporary = flags.temporary ?? false;
    this.greeting = flags.greeting ?? false;
    this.bye = flags.bye ?? false;
  }
}

/** Most bytes of one reply (all its lines and literals): far above any real one, so memory stays bounded. */
export const MAX_REPLY_BYTES = 1024 * 1024;

function tooLong(what: string): ProtocolViolation {
  return new ProtocolViolation(`${what} longer than ${MAX_REPLY_BYTES} bytes`);
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
    if (!match) throw new ProtocolViolation(`not an SMTP reply: ${JSON.stringify(line.slice(0, 200))}`, line);
    if (raw.length > 0 && !raw[0]!.startsWith(match[1]!)) throw new ProtocolViolation(`SMTP reply lines with different codes: ${raw[0]!.slice(0, 3)} then ${match[1]}`, line);
    bytes += line.length;
    if (bytes > MAX_REPLY_BYTES) throw tooLong('SMTP reply');
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
 * One IMAP response line with its literals read in: a line ending in {n} or {n+} is followed by n
 * raw bytes and the rest of the response (RFC 3501 4.3). `budget` bounds the bytes read.
 */
export async function readImapResponse(session: LineSession, step: string, budget = MAX_REPLY_BYTES): Promise<string> {
  let response = await session.readLine(step);
  for (;;) {
    if (response.length > budget) throw tooLong('IMAP response');
    const literal = /\{(\d+)\+?\}$/.exec(response);
    if (!literal) return response;
    const size = Number(literal[1]);
    if (response.length + size > budget) throw tooLong(`IMAP literal of ${literal[1]} bytes:`);
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
      throw new ProtocolViolation(`unexpected continuation during ${step}: ${JSON.stringify(line.slice(0, 200))}`, line);
    }
    if (line.startsWith(`${tag} `)) {
      const match = /^\S+ (OK|NO|BAD)\b ?(.*)$/i.exec(line);
      if (!match) throw new ProtocolViolation(`not an IMAP status: ${JSON.stringify(line.slice(0, 200))}`, line);
      return { status: match[1]!.toUpperCase() as ImapTagged['status'], text: match[2]!, untagged, line };
    }
    if (/^\* BYE\b/i.test(line)) throw new ServerReplyError(step, line, { bye: true, temporary: imapTemporary(line) });
    if (!line.startsWith('* ')) {
      throw new ProtocolViolation(`unexpected line while waiting for the reply to ${step} (tag ${tag}): ${JSON.stringify(line.slice(0, 200))}`, line);
    }
    untagged.push(line);
  }
}

/**
 * The first reply of a server: SMTP 220, IMAP "* OK"/"* PREAUTH", POP3 "+OK". A refusal (SMTP
 * 421/554, IMAP "* BYE", POP3 "-ERR") throws a ServerReplyError marked as a greeting.
 */
export async function readGreeting(session: LineSession, type: AccountType): Promise<string> {
  const step = 'waiting for the server greeting';
  if (type === 'smtp') {
    const reply = await readSmtpReply(session, step);
    if (reply.code !== 220) throw new ServerReplyError('greeting', reply.text, { greeting: true, temporary: smtpTemporary(reply) });
    return reply.text;
  }
  const line = type === 'imap' ? await readImapResponse(session, step) : await session.readLine(step);
  if (type === 'imap' ? /^\* (OK|PREAUTH)\b/i.test(line) : /^\+OK\b/i.test(line)) return line;
  if (type === 'imap' ? /^\* BYE\b/i.test(line) : /^-ERR\b/i.test(line)) {
    const temporary = type === 'imap' ? imapTemporary(line) : /^-ERR \[(SYS\/TEMP|IN-USE|LOGIN-DELAY)\b/i.test(line);
    throw new ServerReplyError('greeting', line, { greeting: true, temporary });
  }
  throw new ProtocolViolation(`not a ${type.toUpperCase()} greeting: ${JSON.stringify(line.slice(0, 200))}`, line);
}

/** SMTP EHLO; the extension lines (without the first, the greeting-like line). */
export async function ehlo(session: LineSession): Promise<string[]> {
  session.send(`EHLO ${ehloName(session.socket)}`);
  const reply = await readSmtpReply(session, 'EHLO');
  if (reply.code !== 250) throw new ServerReplyError('EHLO', reply.text, { temporary: smtpTemporary(reply) });
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
  if (![500, 501, 502, 504, 550].includes(reply.code)) throw new ServerReplyError('EHLO', reply.text, { temporary: smtpTemporary(reply) });
  session.send(`HELO ${name}`);
  const helo = await readSmtpReply(session, 'HELO');
  if (helo.code !== 250) throw new ServerReplyError('HELO', `${reply.text}; ${helo.text}`, { temporary: smtpTemporary(helo) });
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
    if (reply.code !== 220) throw new ServerReplyError('STARTTLS', reply.text);
  } else if (type === 'imap') {
    session.send('S1 STARTTLS');
    const done = await readImapTagged(session, 'S1', 'STARTTLS');
    if (done.status !== 'OK') throw new ServerReplyError('STARTTLS', done.line);
  } else {
    session.send('STLS');
    const line = await session.readLine('STLS');
    if (!/^\+OK\b/i.test(line)) throw new ServerReplyError('STLS', line);
  }
}
