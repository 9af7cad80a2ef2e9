// The wording of hints: lower layers say what to do in words and name the account fields to change
// (MailboxError.fixes); here those fields become this CLI's flags, in the form that fits the command
// that failed (an account not yet saved is fixed by running `add` again, not by `edit`).
import type { ErrorCode, Fix, MailboxError } from '../core/errors.js';

/** The flag that sets each account field, with a placeholder for its value where it takes one. */
const FLAGS: Record<string, string> = {
  host: '--host',
  port: '--port',
  security: '--security',
  auth: '--auth',
  user: '--user',
  password: '--password-stdin',
  from: '--from',
  filter: '--filter',
  folder: '--folder',
  ca: '--ca',
  fingerprint: '--fingerprint',
  insecure: '--insecure',
  maxMessageSize: '--max-size',
  deleteAfterDownload: '--delete-after-download',
  debug: '--debug',
};

/** Where a fix would be applied: an account that exists (edit), or one being added (add it again). */
export interface HintContext {
  command?: 'add' | 'edit';
  /** The account, when the error does not name it. */
  account?: string;
}

export function fixFlag(fix: Fix): string {
  const flag = FLAGS[fix.field] ?? `--${fix.field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return fix.value === undefined ? flag : `${flag} ${fix.value}`;
}

function fixCommands(fixes: readonly Fix[], account: string, context: HintContext): string {
  const flags = fixes.map(fixFlag);
  if (context.command === 'add') return `run mailbox add again with ${flags.join(', or with ')}`;
  return flags.map((f) => `mailbox edit ${account} ${f}`).join(', or ');
}

export interface Hinted {
  hint?: string | null;
  fixes?: readonly Fix[];
  account?: string;
}

/** The hint as printed: the words, then the commands that apply the fixes. */
export function hintText(err: Hinted, context: HintContext = {}): string | null {
  const words = err.hint ?? '';
  if (!err.fixes?.length) return words || null;
  const commands = fixCommands(err.fixes, err.account ?? context.account ?? 'NAME', context);
  return words ? `${words}: ${commands}` : commands;
}

/** The `{"error": ...}` object of --json output, with the hint worded for the CLI. */
export function errorJson(err: MailboxError, context: HintContext = {}): { code: ErrorCode; exit: number; message: string; hint: string | null; field: string | null } {
  return { ...err.toJSON(), hint: hintText(err, context) };
}
