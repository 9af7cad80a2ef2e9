// Reading whole replies of the three protocols off a LineSession, and the STARTTLS/STLS requests.
import type { AccountType } from '../core/account.js';
import { ehloName, type LineSession } from './line-session.js';

/** A reply the server sent that ends the conversation step unsuccessfully. */
export class ServerReplyError extends Error {
  readonly code = 'EREPLY';
  constructor(
    readonly command: string,
    readonly response: string,
  ) {
    super(`${command} was refused: ${response}`);
    this.name = 'ServerReplyError';
  }
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
  for (;;) {
    const line = await session.readLine(step);
    const match = /^(\d{3})([ -]?)(.*)$/.exec(line);
    if (!match) throw Object.assign(new Error(`not an SMTP reply: ${line.slice(0, 200)}`), { code: 'EPROTOCOL', response: line });
    lines.push(match[3]!);
    raw.push(line);
    if (match[2] !== '-') return { code: Number(match[1]), lines, text: raw.join('\n') };
  }
}

export interface ImapTagged {
  status: 'OK' | 'NO' | 'BAD';
  text: string;
  untagged: string[];
  /** The whole tagged line. */
  line: string;
}

/** Untagged lines up to the tagged completion of `tag`. Continuations ("+ ...") end it too (status OK, text '+'). */
export async function readImapTagged(session: LineSession, tag: string, step: string, stopAtContinuation = false): Promise<ImapTagged> {
  const untagged: string[] = [];
  for (;;) {
    const line = await session.readLine(step);
    if (stopAtContinuation && line.startsWith('+')) return { status: 'OK', text: line.slice(1).trim(), untagged, line };
    if (line.startsWith(`${tag} `)) {
      const match = /^\S+ (OK|NO|BAD)\b ?(.*)$/i.exec(line);
      if (!match) throw Object.assign(new Error(`not an IMAP status: ${line.slice(0, 200)}`), { code: 'EPROTOCOL', response: line });
      return { status: match[1]!.toUpperCase() as ImapTagged['status'], text: match[2]!, untagged, line };
    }
    if (/^\* BYE\b/i.test(line)) throw Object.assign(new ServerReplyError(step, line), { bye: true });
    untagged.push(line);
  }
}

/** The first reply of a server: SMTP 220, IMAP "* OK"/"* PREAUTH", POP3 "+OK". Throws on refusal. */
export async function readGreeting(session: LineSession, type: AccountType): Promise<string> {
  const step = 'waiting for the server greeting';
  if (type === 'smtp') {
    const reply = await readSmtpReply(session, step);
    if (reply.code !== 220) throw new ServerReplyError('greeting', reply.text);
    return reply.text;
  }
  const line = await session.readLine(step);
  const ok = type === 'imap' ? /^\* (OK|PREAUTH)\b/i.test(line) : /^\+OK\b/.test(line);
  if (!ok) throw new ServerReplyError('greeting', line);
  return line;
}

/** SMTP EHLO; the extension lines (without the first, the greeting-like line). */
export async function ehlo(session: LineSession): Promise<string[]> {
  session.send(`EHLO ${ehloName(session.socket)}`);
  const reply = await readSmtpReply(session, 'EHLO');
  if (reply.code !== 250) throw new ServerReplyError('EHLO', reply.text);
  return reply.lines.slice(1);
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
    if (!line.startsWith('+OK')) throw new ServerReplyError('STLS', line);
  }
}
