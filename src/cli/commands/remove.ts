// mailbox remove NAME: asks first on a terminal, needs --yes without one; removes the keychain entry.
import type { Command } from 'commander';
import type { Account } from '../../core/account.js';
import { MailboxError } from '../../core/errors.js';
import { accountToEdit } from '../../jobs/accounts/save.js';
import { removeAccount } from '../../jobs/accounts/remove.js';
import { secretJson } from '../account-json.js';
import { reportCleanup } from '../account-report.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';

export async function remove(ctx: Context, name: string, opts: { yes?: boolean }): Promise<number> {
  const account = accountToEdit((await ctx.snapshot()).accounts, name, 'removed');
  if (!opts.yes) {
    if (!ctx.interactive) {
      throw new MailboxError('EUSAGE', `remove ${account.name}: confirm with --yes (no terminal to ask)`, { hint: `mailbox remove ${account.name} --yes` });
    }
    const s = secretJson(account.secret);
    const extra = s.kind === 'keychain' ? ` and its keychain entry ${s.ref}` : '';
    if (!(await ctx.prompter.confirm({ message: `Remove ${account.type} account ${account.name}${extra}?`, default: false }))) {
      ctx.out.info(`kept account ${account.name}`);
      ctx.out.data({ removed: null, secretRemoved: false }, () => '');
      return 0;
    }
  }
  const outcome = await removeAccount(ctx.accounts, account.name);
  ctx.out.info(`removed ${outcome.type} account ${outcome.name}${outcome.cleanup?.removed ? ' and its keychain entry' : ''}`);
  reportCleanup(ctx.out, outcome.cleanup ? [outcome.cleanup] : []);
  const tokensRemoved = account.oauth ? await forgetTokens(ctx, account.name, account.tokenStore) : null;
  ctx.out.data({ removed: outcome.name, secretRemoved: outcome.cleanup ? outcome.cleanup.removed : null, ...(account.oauth ? { tokensRemoved } : {}) }, () => '');
  return 0;
}

/** An OAuth account's tokens go with it; a store that cannot be reached leaves them, and says where. */
async function forgetTokens(ctx: Context, name: string, kind: Account['tokenStore']): Promise<boolean> {
  const { tokenStoresOf } = await import('../oauth-wiring.js');
  try {
    const removed = await tokenStoresOf(ctx).of(kind).remove(name);
    if (removed) ctx.out.info(`its OAuth tokens were removed (${kind === 'file' ? 'token file' : 'keychain entry mailbox-oauth/' + name.toLowerCase()})`);
    return removed;
  } catch (err) {
    ctx.out.warn(`the OAuth tokens of ${name} could not be removed (${(err as Error).message}): delete ${kind === 'file' ? 'its token file under the state folder' : `the keychain entry mailbox-oauth/${name.toLowerCase()}`} by hand`);
    return false;
  }
}

export function register(command: Command, penv: ProgramEnv): void {
  command
    .argument('<name>', 'account name')
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .addHelpText('after', '\nExamples:\n  $ mailbox remove old-imap\n  $ mailbox remove old-imap --yes --json')
    .action(action<{ yes?: boolean }>(penv, (ctx, opts, [name]) => remove(ctx, name!, opts)));
}
