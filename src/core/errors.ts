import { escapeControls } from './text.js';

// Exit codes follow sysexits(3), as mail tools do; scripts branch on them.
export const ExitCode = {
  ok: 0,
  usage: 64,
  dataErr: 65,
  noInput: 66,
  unavailable: 69,
  software: 70,
  ioErr: 74,
  tempFail: 75,
  protocol: 76,
  noPerm: 77,
  config: 78,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Stable machine-readable error codes (printed in --json), each tied to one exit code. */
export const ErrorCodes = {
  EUSAGE: ExitCode.usage,
  EVALUE: ExitCode.dataErr,
  ENOTFOUND: ExitCode.noInput,
  EUNREACHABLE: ExitCode.unavailable,
  EINTERNAL: ExitCode.software,
  EIO: ExitCode.ioErr,
  ETIMEDOUT: ExitCode.tempFail,
  ETEMPFAIL: ExitCode.tempFail,
  ELOCKED: ExitCode.tempFail,
  ETLS: ExitCode.protocol,
  EPROTOCOL: ExitCode.protocol,
  EAUTH: ExitCode.noPerm,
  EPROVISIONED: ExitCode.noPerm,
  ECONFIG: ExitCode.config,
  ESECRET: ExitCode.config,
  EKEYCHAIN: ExitCode.config,
} as const;
export type ErrorCode = keyof typeof ErrorCodes;

/**
 * One change to an account setting that would fix a failure. Layers below the CLI name the account
 * field and the value (or a placeholder such as FILE); the CLI words it with its own flags and the
 * command at hand (`mailbox edit NAME --ca FILE` after a failed test, "run add again with --ca FILE"
 * after a failed add). Fixes are alternatives, the preferred one first.
 */
export interface Fix {
  /** The account field: host, port, security, auth, user, password (a new one, kept in the keychain), passwordEnv, passwordCommand, from, filter, folder, ca, fingerprint, insecure, maxMessageSize, deleteAfterDownload, debug */
  field: string;
  /** The value to set, or a placeholder in capitals (FILE, NAME); absent for a new secret or a switch. */
  value?: string;
  /** Clear the setting instead of setting it (no filter, no size limit, ...). */
  clear?: boolean;
}

export interface MailboxErrorOptions {
  /** What to do, in words; never a CLI flag (see `fixes`). */
  hint?: string;
  /** The input field at fault, for validation errors. */
  field?: string;
  /** Account settings whose change would fix this (alternatives), for the CLI to word. */
  fixes?: Fix[];
  /** The account the fixes apply to. */
  account?: string;
  cause?: unknown;
}

/** Every failure the user should see is one of these: a code, a message, and a hint what to do. */
export class MailboxError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly field?: string;
  readonly fixes?: Fix[];
  readonly account?: string;

  constructor(code: ErrorCode, message: string, options: MailboxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MailboxError';
    this.code = code;
    this.hint = options.hint;
    this.field = options.field;
    this.fixes = options.fixes;
    this.account = options.account;
  }

  get exitCode(): ExitCodeValue {
    return ErrorCodes[this.code];
  }

  toJSON(): { code: ErrorCode; exit: number; message: string; hint: string | null; field: string | null } {
    return { code: this.code, exit: this.exitCode, message: this.message, hint: this.hint ?? null, field: this.field ?? null };
  }
}

/** How much of a value a message echoes: enough to recognise it, never a whole pasted file. */
const SHOWN_CHARACTERS = 80;

/**
 * A value as a message echoes it: a string quoted (control characters escaped, so it cannot break
 * or forge a line of output), anything else as JSON; cut after 80 characters, saying how long it was.
 */
export function shown(value: unknown): string {
  const quoted = typeof value === 'string';
  let text: string;
  try {
    text = quoted ? value : typeof value === 'object' && value !== null ? (JSON.stringify(value) ?? String(value)) : String(value);
  } catch {
    text = String(value);
  }
  // Counted in characters, not UTF-16 units: a cut never splits one.
  const length = text.length > SHOWN_CHARACTERS ? [...text].length : text.length;
  const head = length > SHOWN_CHARACTERS ? [...text.slice(0, SHOWN_CHARACTERS * 2)].slice(0, SHOWN_CHARACTERS).join('') : text;
  const body = escapeControls(quoted ? JSON.stringify(head) : head);
  return length > SHOWN_CHARACTERS ? `${body}... (cut: ${length} characters)` : body;
}

/** A rejected input value: names the field, the value (cut when long) and what is accepted. */
export function invalid(field: string, value: unknown, accepted: string): MailboxError {
  return new MailboxError('EVALUE', `invalid ${field} ${shown(value)}: expected ${accepted}`, { field });
}
