// The per-account debug log: the raw protocol exchange, for diagnosis, with every secret replaced.
// Two passes, because one is not enough:
//  1. protocol-aware: credentials on IMAP LOGIN/AUTHENTICATE, POP3 PASS/APOP/AUTH, SMTP AUTH, and
//     every client line of a SASL exchange until the server's final reply;
//  2. belt and braces: any occurrence of a known secret in any of its forms (redaction.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { format } from 'node:util';
import type { AccountType } from '../core/account.js';
import { MailboxError } from '../core/errors.js';
import { notPlainFile, unsafeToTrust } from '../core/file-safety.js';
import { REDACTED, scrubForms, secretForms } from './redaction.js';

/** 'C' client to server, 'S' server to client, '*' a note (connect, TLS, errors). */
export type Direction = 'C' | 'S' | '*';
/** Receives each line of a conversation (without line ending). */
export type ProtocolTap = (direction: 'C' | 'S', line: string) => void;

export interface RedactorOptions {
  protocol: AccountType;
  /** Secrets that must never appear: the password or token. */
  secrets: readonly string[];
  /** The login name, to recognise SASL payloads built from it. */
  user?: string;
}

export interface Redactor {
  (direction: Direction, line: string): string;
  /** A secret learnt later (resolved at the login step): scrubbed from every later line. */
  addSecret(secret: string): void;
}

const IMAP_AUTH = /^(\S+) (LOGIN|AUTHENTICATE)\b ?(.*)$/i;
const POP3_AUTH = /^(PASS|APOP|AUTH)\b ?(.*)$/i;
const SMTP_AUTH = /^(AUTH)\b ?(.*)$/i;

/** The first IMAP astring (atom or quoted) of `text`, for showing the user name of LOGIN. */
function leadingAstring(text: string): string | undefined {
  const match = /^("(?:[^"\\]|\\.)*"|[^\s{"]+)(?= )/.exec(text);
  return match?.[1];
}

/**
 * A stateful redactor for one conversation. Feed it every line, both directions, in order.
 */
export function createRedactor(options: RedactorOptions): Redactor {
  let forms = options.secrets.flatMap((s) => secretForms(s, options.user));
  /**
   * Set while a login exchange is open: every client line is a credential until the server's final
   * reply. SCRAM's server challenges are kept out too: its salt, nonce and final signature would
   * let whoever reads the log try passwords offline.
   */
  let authOpen: { tag?: string; scram?: boolean } | undefined;

  const client = (line: string): string => {
    if (authOpen) return REDACTED;
    if (options.protocol === 'imap') {
      const m = IMAP_AUTH.exec(line);
      if (!m) return line;
      const [, tag, verb, rest] = m;
      authOpen = { tag, scram: /^SCRAM-/i.test(rest ?? '') };
      if (verb!.toUpperCase() === 'LOGIN') {
        const user = leadingAstring(rest!);
        return `${tag} ${verb} ${user ? `${user} ` : ''}${REDACTED}`;
      }
      const [mech, ...initial] = rest!.split(' ');
      return `${tag} ${verb} ${mech}${initial.length ? ` ${REDACTED}` : ''}`;
    }
    const m = (options.protocol === 'pop3' ? POP3_AUTH : SMTP_AUTH).exec(line);
    if (!m) return line;
    const verb = m[1]!.toUpperCase();
    const rest = m[2]!;
    if (verb === 'PASS') return `${m[1]} ${REDACTED}`;
    if (verb === 'APOP') return `${m[1]} ${rest.split(' ')[0]} ${REDACTED}`;
    // AUTH alone (POP3) asks for the list of mechanisms: no credential follows.
    if (!rest) return line;
    authOpen = { scram: /^SCRAM-/i.test(rest) };
    const [mech, ...initial] = rest.split(' ');
    return `${m[1]} ${mech}${initial.length ? ` ${REDACTED}` : ''}`;
  };

  const server = (line: string): string => {
    if (!authOpen) return line;
    const challenge = /^(\+|334)( |$)/.exec(line);
    if (challenge && authOpen.scram) return `${challenge[1]} ${REDACTED}`;
    if (options.protocol === 'imap') {
      if (authOpen.tag && line.startsWith(`${authOpen.tag} `)) authOpen = undefined;
    } else if (options.protocol === 'pop3') {
      if (/^(\+OK|-ERR)\b/.test(line)) authOpen = undefined;
    } else if (/^\d{3} /.test(line) && !line.startsWith('334')) {
      authOpen = undefined;
    }
    return line;
  };

  const redact = (direction: Direction, line: string): string => {
    const shaped = direction === 'C' ? client(line) : direction === 'S' ? server(line) : line;
    return scrubForms(shaped, forms);
  };
  return Object.assign(redact, {
    addSecret(secret: string) {
      forms = [...forms, ...secretForms(secret, options.user)].sort((a, b) => b.length - a.length);
    },
  });
}

export interface DebugLog {
  readonly path: string;
  /** One protocol line: 'C' sent, 'S' received, '*' a note. Redacted before it is written. */
  write(direction: Direction, line: string): void;
  /** A tap for a LineSession or the POP3 client. */
  tap: ProtocolTap;
  note(text: string): void;
  /** Adds a secret to scrub (when it is resolved after the log was opened). */
  addSecret(secret: string): void;
  close(): void;
}

/** Where an account's debug log lives: `<logDir>/<account name, lower case>.log`. */
export function debugLogPath(logDir: string, accountName: string): string {
  return path.join(logDir, `${accountName.toLowerCase()}.log`);
}

export interface DebugLogOptions extends RedactorOptions {
  /** The account, written in the header line. */
  account: string;
  now?: () => Date;
}

/** `what` names the path and what it is for: "create FOLDER for the debug log", "open the debug log FILE". */
function logIoError(what: string, err: unknown): MailboxError {
  const e = err as NodeJS.ErrnoException;
  const detail = e.code === 'EACCES' ? 'permission denied' : e.code === 'EROFS' ? 'read-only file system' : e.message;
  return new MailboxError('EIO', `cannot ${what}: ${detail}`, { cause: err });
}

/**
 * The log's folder, created 0700 a level at a time (not mkdir's recursive mode, which loops forever
 * on some file systems). Refused when it is a link, or another user owns or can write it, or can
 * replace it: its parent (state/) writable by others, unless sticky as /tmp is.
 */
function logFolder(dir: string): void {
  const missing: string[] = [];
  for (let at = path.resolve(dir); !fs.existsSync(at) && path.dirname(at) !== at; at = path.dirname(at)) missing.push(at);
  for (const at of missing.reverse()) {
    try {
      fs.mkdirSync(at, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw logIoError(`create ${at} for the debug log`, err);
    }
  }
  let self: number | undefined;
  try {
    self = os.userInfo().uid;
  } catch {
    self = undefined; // no passwd entry: the modes are still checked
  }
  const own = fs.lstatSync(dir);
  if (own.isSymbolicLink()) throw notPlainFile(dir, 'is a symbolic link');
  const parent = fs.statSync(path.dirname(dir));
  const refusal = unsafeToTrust('folder', dir, own, self) ?? (parent.mode & 0o1000 ? undefined : unsafeToTrust('folder', path.dirname(dir), parent, undefined));
  if (refusal) throw refusal;
}

/**
 * Opens the log for appending without following a link: a link planted in its place is refused,
 * never written through or chmod'ed; the file is tightened to 0600 through its descriptor.
 * O_NONBLOCK: a FIFO planted there must not hang the open (it is then refused).
 */
function openLogFile(file: string): number {
  logFolder(path.dirname(file));
  const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw notPlainFile(file, 'is a symbolic link');
    // A FIFO without a reader (or a socket) opened for writing without blocking.
    if (code === 'ENXIO') throw notPlainFile(file, 'is not a plain file');
    throw logIoError(`open the debug log ${file}`, err);
  }
  const st = fs.fstatSync(fd);
  const refusal = !st.isFile() ? notPlainFile(file, 'is not a plain file') : st.nlink > 1 ? notPlainFile(file, `has ${st.nlink} names (hard links)`) : undefined;
  if (refusal) {
    fs.closeSync(fd);
    throw refusal;
  }
  fs.fchmodSync(fd, 0o600);
  return fd;
}

/**
 * Opens (appends to) the debug log at `file`: folder 0700, file 0600 (tightened if it existed), never
 * through a link. Writes are synchronous so that nothing is lost when the process exits right after a
 * failure.
 */
export function openDebugLog(file: string, options: DebugLogOptions): DebugLog {
  const fd = openLogFile(file);
  const redact = createRedactor(options);
  const now = options.now ?? (() => new Date());
  let open = true;
  const emit = (direction: Direction, line: string) => {
    if (!open) return;
    const text = redact(direction, line).replace(/[\r\n]+/g, ' ');
    fs.writeSync(fd, `${now().toISOString()} ${direction} ${text}\n`);
  };
  emit('*', `mailbox debug log for account ${options.account} (${options.protocol})`);
  return {
    path: file,
    write: emit,
    tap: (direction, line) => emit(direction, line),
    note: (text) => emit('*', text),
    addSecret: (secret) => redact.addSecret(secret),
    close() {
      if (!open) return;
      open = false;
      fs.closeSync(fd);
    },
  };
}

/** Splits text into lines (a chunk may carry several). */
function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((l, i, all) => l !== '' || i < all.length - 1);
}

/**
 * A logger for imapflow's `logger` option. It logs objects: `{src:'c'|'s', msg}` for each command
 * and response (already masked by imapflow), and with `logRaw` `{src, data: base64}` for the raw
 * bytes. Both pass through the redactor; other entries become notes.
 */
export function imapflowLogger(log: DebugLog) {
  const entry = (level: string) => (obj: unknown) => {
    const record = (obj ?? {}) as { src?: string; msg?: unknown; data?: unknown; err?: { message?: string } };
    const direction: Direction | undefined = record.src === 'c' ? 'C' : record.src === 's' ? 'S' : undefined;
    if (direction && typeof record.data === 'string') {
      for (const line of lines(Buffer.from(record.data, 'base64').toString('utf8'))) log.write(direction, line);
      return;
    }
    if (direction && typeof record.msg === 'string') {
      for (const line of lines(record.msg)) log.write(direction, line);
      return;
    }
    const text = typeof record.msg === 'string' ? record.msg : record.err?.message;
    if (text && level !== 'trace' && level !== 'debug') log.note(`${level}: ${text}`);
  };
  return { trace: entry('trace'), debug: entry('debug'), info: entry('info'), warn: entry('warn'), error: entry('error'), fatal: entry('error') };
}

/**
 * A bunyan-style logger for nodemailer's `logger` option (use with `debug: true`): calls look like
 * `logger.debug({tnx: 'client'|'server'|...}, format, ...args)`.
 */
export function nodemailerLogger(log: DebugLog) {
  const entry = (level: string) => (meta: unknown, message?: unknown, ...args: unknown[]) => {
    const data = (meta && typeof meta === 'object' ? meta : {}) as { tnx?: string };
    const text = typeof meta === 'string' ? format(meta, message, ...args) : format(String(message ?? ''), ...args);
    const direction: Direction = data.tnx === 'client' ? 'C' : data.tnx === 'server' ? 'S' : '*';
    for (const line of lines(text)) log.write(direction, direction === '*' ? `${level}: ${line}` : line);
  };
  return { trace: entry('trace'), debug: entry('debug'), info: entry('info'), warn: entry('warn'), error: entry('error'), fatal: entry('fatal') };
}
