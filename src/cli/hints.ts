// The wording of hints: lower layers say what to do in words and name the account fields to change
// (MailboxError.fixes); here those fields become this CLI's flags (from the flag table), in the form
// that fits the command that failed: an account that `add` or `edit` did not save is fixed by
// running that command again with the flag, a saved one by `mailbox edit NAME --flag`.
import type { ErrorCode, Fix, MailboxError } from '../core/errors.js';
import { ACCOUNT_FLAGS, flagUsage, type AccountCommand } from './account-flags.js';

export interface HintContext {
  /** The command that failed without saving: its fixes are worded as running it again. */
  command?: AccountCommand;
  /** The account, when the error does not name it. */
  account?: string;
}

/** The flag that applies a fix: a flag with a value, or the switch that sets the value asked for. */
export function fixFlag(fix: Fix, command?: AccountCommand): string {
  const offered = ACCOUNT_FLAGS.filter((f) => f.field === fix.field && (!f.only || f.only === (command ?? 'edit')));
  const flag = offered.find((f) => f.sets === undefined || String(f.sets) === (fix.value ?? 'true'));
  // A field without a flag of its own (new in a lower layer) is still named the way flags are.
  const name = flag?.flag ?? fix.field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  if (fix.clear) return command === 'add' ? `without --${name}` : `--no-${name}`;
  if (!flag) return fix.value === undefined ? `--${name}` : `--${name} ${fix.value}`;
  return flag.sets === undefined ? flagUsage(flag, fix.value) : `--${flag.flag}`;
}

function fixCommands(fixes: readonly Fix[], account: string, context: HintContext): string {
  const flags = fixes.map((fix) => fixFlag(fix, context.command));
  if (!context.command) return flags.map((f) => `mailbox edit ${account} ${f}`).join(', or ');
  const again = context.command === 'add' ? 'run mailbox add again' : `run mailbox edit ${account} again`;
  return `${again} ${flags.map((f) => (f.startsWith('without ') ? f : `with ${f}`)).join(', or ')}`;
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
