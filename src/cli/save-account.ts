// The CLI's half of `add` and `edit`: the password read from standard input or asked for, the
// connection test before saving (its diagnosis on stderr; on a terminal a failure asks whether to
// save anyway), and the outcome printed. The saving itself is the use case's (jobs/accounts/save.ts).
import type { Account } from '../core/account.js';
import { MailboxError } from '../core/errors.js';
import type { ConnectionCheck, SaveOutcome } from '../jobs/accounts/save.js';
import type { ProbeResult } from '../protocols/probe/index.js';
import type { SecretChoice } from '../jobs/accounts/secret-choice.js';
import { accountJson, secretWords } from './account-json.js';
import { choiceWarning } from './choice-warnings.js';
import { parseStdinSecret, type AccountCommand } from './account-flags.js';
import { reportCleanup, reportDeactivated } from './account-report.js';
import type { Context } from './context.js';
import { hintText, type HintContext } from './hints.js';
import { readAll } from './io.js';
import { tokenStoresOf } from './oauth-wiring.js';
import { probeJson, renderProbe, runProbe } from './probe-view.js';
import { spin } from './spinner.js';

/**
 * --password-stdin reads standard input when it is no terminal; on a terminal the password is asked
 * for, masked, instead of reading the keyboard to end-of-file ('stdin' stays for the wizard).
 */
export async function readStdinSecret(ctx: Context, secret: SecretChoice | 'stdin' | undefined, command: AccountCommand): Promise<SecretChoice | 'stdin' | undefined> {
  if (secret !== 'stdin' || ctx.interactive) return secret;
  return { kind: 'keychain', secret: parseStdinSecret(await readAll(ctx.io.stdin), command) };
}

export interface CheckOptions {
  /** How the fixes of a failure are worded (add, or edit of NAME). */
  hints: HintContext;
  /** On a terminal, and not --yes: a failed test asks whether to save anyway. */
  askOnFailure: boolean;
}

/**
 * The account's own secret, for a test before saving. When it cannot be had (an environment variable
 * not set, a command that fails) the test cannot run: a failure like any other, worded so that the
 * user knows how to save without it.
 */
async function storedSecret(ctx: Context, account: Account, options: CheckOptions): Promise<string | undefined> {
  if (account.auth === 'none' || !account.secret) return undefined;
  try {
    return await ctx.secrets.resolve(account.secret, account.name);
  } catch (err) {
    if (!(err instanceof MailboxError)) throw err;
    const hint = hintText(err, options.hints);
    throw new MailboxError(err.code, `${err.message} (needed to test the connection before saving)`, {
      hint: options.askOnFailure ? (hint ?? undefined) : `${hint ? `${hint}; or ` : ''}save without testing: --no-test`,
      cause: err,
    });
  }
}

/** Runs `work` under a spinner that names the server, on a terminal only (never with --json). */
async function withSpinner<T>(ctx: Context, account: Account, work: () => Promise<T>): Promise<T> {
  if (ctx.out.json || !ctx.io.stderr.isTTY) return work();
  const spinner = spin(ctx.io.stderr, () => `testing the connection to ${account.host}:${account.port} (${account.type}, ${account.security})`);
  try {
    return await work();
  } finally {
    spinner.stop();
  }
}

/** The staged probe of `mailbox test`, run by the use case before it saves. */
export function connectionCheck(ctx: Context, options: CheckOptions): ConnectionCheck {
  const { hints } = options;
  const failed = async (account: Account, code: string, exitCode: number) => {
    if (!options.askOnFailure) return { save: false, exitCode };
    const save = await ctx.prompter.confirm({ message: `The connection test of ${account.name} failed (${code}). Save the account anyway?`, default: false });
    return save ? { save: true, exitCode: 0 } : { save: false, exitCode };
  };
  return async (account, typed) => {
    // An account with an OAuth profile has no tokens before its first authorization: nothing to test yet.
    if (account.oauth && !(await tokenStoresOf(ctx).of(account.tokenStore).load(account.name).catch(() => undefined))) {
      ctx.out.info(`account ${account.name} is not authorized yet, so its login was not tested: mailbox authorize ${account.name} authorizes it and tests the login`);
      return { save: true, exitCode: 0 };
    }
    let result: ProbeResult;
    try {
      result = await withSpinner(ctx, account, async () => runProbe(ctx, account, { secret: typed ?? (await storedSecret(ctx, account, options)) }));
    } catch (err) {
      // The test could not even start: on a terminal that is a failed test like the others (asked
      // about), so the wizard's answers are not thrown away; otherwise the error ends the command.
      if (!(err instanceof MailboxError) || !options.askOnFailure) throw err;
      ctx.out.error(err, hints);
      return failed(account, err.code, err.exitCode);
    }
    for (const warning of result.warnings) ctx.out.warn(`account ${account.name}: ${warning}`);
    if (result.ok) {
      ctx.out.info(`connection test of ${account.name}: ok (${result.ms} ms)`);
      return { save: true, exitCode: 0 };
    }
    ctx.out.info(ctx.out.json ? JSON.stringify({ test: probeJson(result, hints) }) : renderProbe(result, ctx.out.color, hints, { width: ctx.out.width }));
    return failed(account, result.error!.code, result.exitCode);
  };
}

/** Prints what `add` or `edit` did; returns the exit code. */
export function printSaveOutcome(ctx: Context, outcome: SaveOutcome, command: AccountCommand): number {
  const { account, changes } = outcome;
  if (outcome.status === 'unchanged') {
    ctx.out.info(`account ${account.name}: nothing to change`);
    ctx.out.data({ account: accountJson(account), changes, deactivated: [], warnings: [] }, () => '');
    return 0;
  }
  const warnings = outcome.weakChoices.map((c) => choiceWarning(c, 'flags'));
  for (const w of warnings) ctx.out.warn(w);
  if (outcome.status === 'test-failed') {
    ctx.out.info(`account ${account.name} was not saved (run again with --no-test to save it untested)`);
    return outcome.exitCode;
  }
  const state = account.active ? 'active' : 'inactive';
  if (command === 'edit') ctx.out.info(`updated ${account.type} account ${account.name} (${state}): ${changes.join(', ')}`);
  else ctx.out.info(`added ${account.type} account ${account.name} (${state})`);
  reportDeactivated(ctx.out, outcome.deactivated);
  // An edit that switched or dropped the source: the entry it no longer uses is deleted; say so.
  for (const c of outcome.cleanup) if (c.removed) ctx.out.info(`account ${c.account}: deleted its ${secretWords(c.ref)} (no longer used)`);
  reportCleanup(ctx.out, outcome.cleanup);
  ctx.out.data({ account: accountJson(account), ...(command === 'edit' ? { changes } : {}), deactivated: outcome.deactivated, warnings }, () => '');
  return 0;
}
