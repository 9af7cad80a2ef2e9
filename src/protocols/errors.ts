// One protocol error, made where the failure happens by one factory (as nodemailer's _formatError):
// a code from the table in core/errors.ts, what the server said and to which command, and whether
// it is temporary. The words come from the caller; a change of account setting that would fix it is
// named as `fixes` (the CLI words them as its flags).
import { ErrorCodes, ExitCode, MailboxError, type ErrorCode, type Fix } from '../core/errors.js';

export interface ProtocolFailure {
  code: ErrorCode;
  message: string;
  /** What to do, in words (never a CLI flag). */
  hint?: string;
  /** Account settings whose change would fix it, alternatives, the preferred first. */
  fixes?: Fix[];
  /** The account the failure and its fixes belong to. */
  account?: string;
  /** What the server said, as it said it. */
  response?: string;
  /** The command it answered ("greeting" for the first reply). */
  command?: string;
  cause?: unknown;
}

/** A MailboxError that also keeps what the server said, to which command, and whether to try again later. */
export class ProtocolError extends MailboxError {
  readonly response?: string;
  readonly command?: string;
  /** Worth trying again later (exit 75: a timeout, a busy or temporarily refusing server). */
  readonly temporary: boolean;

  constructor(failure: ProtocolFailure) {
    super(failure.code, failure.message, { hint: failure.hint, fixes: failure.fixes, account: failure.account, cause: failure.cause });
    this.name = 'ProtocolError';
    this.response = failure.response;
    this.command = failure.command;
    this.temporary = ErrorCodes[failure.code] === ExitCode.tempFail;
  }
}

/** The one way a protocol failure becomes an error. */
export function protocolError(failure: ProtocolFailure): ProtocolError {
  return new ProtocolError(failure);
}

/** A server reply on one line, cut to a length that fits a message. */
export function replyText(response: string): string {
  return response.replace(/\r?\n/g, ' ').slice(0, 500);
}
