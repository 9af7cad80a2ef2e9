// The CLI's half of `add` and `edit`: the password read from standard input or asked for, the
// connection test before saving (its diagnosis on stderr; on a terminal a failure asks whether to
// save anyway), and the outcome printed. The saving itself is the use case's (jobs/accounts/save.ts).
import type { Account } from '../core/account.js';
import { MailboxError } from '../core/errors.js';
import type { ConnectionCheck, SaveOutcome } from '../jobs/accounts/save.js';
import type { SecretChoice } from '../jobs/accounts/secret-choice.js';
import { accountJson } from './account-json.js';
import { parseStdinSecret, type AccountCommand } from './account-flags.js';
import { reportCleanup, reportDeactivated } from './account-report.js';
import type { Context } from './context.js';
import { hintText, type HintContext } from './hints.js';
import { readAll } from './io.js';
import { tokenStoresOf } from './oauth-wiring.js';
import { probeJson, renderProbe, runProbe } from './probe-view.js';

/**
 * --password-stdin reads standard input when it is no terminal; on a terminal the password is asked
 * for, masked, instead of reading the keyboard to end-of-file ('stdin' stays for the wizard).
 */
export async function readStdinSecret(ctx: Context, secret: SecretChoice | 'stdin' | undefined, command: AccountCommand): Promise<SecretChoice | 'stdin' | undefined> {
  if (secret !== 'stdin' || ctx.interactive) return secret;
  return { kind: 'keychain', secret: parseStdinSecret(await readAll(ctx.io.stdin), command) };
}

/** The account's own secret, for a test before saving: a failure says how to save untested. */
async function storedSecret(ctx: Context, account: Account, hints: HintContext): Promise<string | undefined> {
  if (account.auth === 'none' || !account.secret) return undefined;
  try {
    return await ctx.secrets.resolve(account.secret, account.name);
  } catch (err) {
    if (!(err instanceof MailboxError)) throw err;
    const hint = hintText(err, hints);
    throw new MailboxError(err.code, `${err.message} (needed to test the connection before saving)`, {
      hint: `${hint ? `${hint}; or ` : ''}save without testing: --no-test`,
      cause: err,
    });
  }
}

/** The staged probe of `mailbox test`, run by the use case before it saves. */
export function connectionCheck(ctx: Context, hints: HintContext): ConnectionCheck {
  return async (account, typed) => {
    // An account with an OAuth profile has no tokens before its first authorization: nothing to test yet.
    if (account.oauth && !(await tokenStoresOf(ctx).of(account.tokenStore).load(account.name).catch(() => undefined))) {
      ctx.out.info(`account ${account.name} is not authorized yet, so its login was not tested: mailbox authorize ${account.name} authorizes it and tests the login`);
      return { save: true, exitCode: 0 };
    }
    const result = await runProbe(ctx, account, { secret: typed ?? (await storedSecret(ctx, account, hints)) });
    for (const warning of result.warnings) ctx.out.warn(`account ${account.name}: ${warning}`);
    if (result.ok) {
      ctx.out.info(`connection test of ${account.name}: ok (${result.ms} ms)`);
      return { save: true, exitCode: 0 };
    }
    ctx.out.info(ctx.out.json ? JSON.stringify({ test: probeJson(result, hints) }) : renderProbe(result, ctx.out.color, hints));
    if (ctx.interactive) {
      const save = await ctx.prompter.confirm({ message: `The connection test of ${account.name} failed (${result.error!.code}). Save the account anyway?`, default: false });
      if (save) return { save: true, exitCode: 0 };
    }
    return { save: false, exitCode: result.exitCode };
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
  for (const w of outcome.warnings) ctx.out.warn(w);
  if (outcome.status === 'test-failed') {
    ctx.out.info(`account ${account.name} was not saved (run again with --no-test to save it untested)`);
    return outcome.exitCode;
  }
  const state = account.active ? 'active' : 'inactive';
  if (command === 'edit') ctx.out.info(`updated ${account.type} account ${account.name} (${state}): ${changes.join(', ')}`);
  else ctx.out.info(`added ${account.type} account ${account.name} (${state})`);
  reportDeactivated(ctx.out, outcome.deactivated);
  reportCleanup(ctx.out, outcome.cleanup);
  ctx.out.data({ account: accountJson(account), ...(command === 'edit' ? { changes } : {}), deactivated: outcome.deactivated, warnings: outcome.warnings }, () => '');
  return 0;
}
