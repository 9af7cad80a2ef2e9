// mailbox edit NAME: flags change single fields; on a terminal with no flags, the wizard, prefilled.
import type { Command } from 'commander';
import type { Account } from '../../core/account.js';
import { MailboxError } from '../../core/errors.js';
import { accountToEdit, editAccount } from '../../jobs/accounts/save.js';
import { checkFlagValues, declareAccountFlags, hasAccountFlags, parseAccountFlags, type AccountFlagValues } from '../account-flags.js';
import { secretWords } from '../account-json.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';
import { connectionCheck, printSaveOutcome, readStdinSecret } from '../save-account.js';
import { askOnTerminal } from '../wizard.js';

const EXAMPLES = `
Examples:
  $ mailbox edit work                              # wizard, prefilled, on a terminal
  $ mailbox edit work --port 1993 --security tls
  $ printf %s "$NEW_PW" | mailbox edit work --password-stdin
  $ mailbox edit work --password-env WORK_PASSWORD   # keychain entry is removed
  $ mailbox edit out --no-filter --debug

The type and the name of an account cannot change: add a new account and remove the old one.`;

type EditFlags = AccountFlagValues & { yes?: boolean; test?: boolean };

/**
 * `--auth none` drops the account's password source, and a keychain entry nothing else names is
 * deleted with it: on a terminal that is confirmed first (unless --yes); either way the outcome
 * says what was removed.
 */
async function confirmDropSecret(ctx: Context, existing: Account, yes: boolean): Promise<boolean> {
  if (!ctx.interactive || yes) return true;
  const what = existing.secret?.kind === 'keychain' ? `deletes its password (${secretWords(existing.secret)})` : `drops its password source (${secretWords(existing.secret)})`;
  return ctx.prompter.confirm({ message: `Authentication none for ${existing.name} ${what}. Go on?`, default: false });
}

export async function edit(ctx: Context, flags: EditFlags, name: string): Promise<number> {
  checkFlagValues(flags);
  const snapshot = await ctx.snapshot();
  const existing = accountToEdit(snapshot.accounts, name);
  const type = flags.type;
  if (typeof type === 'string' && type.toLowerCase() !== existing.type) {
    throw new MailboxError('EVALUE', `invalid type ${JSON.stringify(type)}: account ${existing.name} is ${existing.type}, and the type of an account cannot change`, {
      field: 'type',
      hint: `add a new ${type.toLowerCase()} account, then mailbox remove ${existing.name}`,
    });
  }
  const wizard = ctx.interactive && !hasAccountFlags(flags);
  if (!wizard && !hasAccountFlags(flags)) {
    throw new MailboxError('EUSAGE', `nothing to change: give at least one flag (no terminal to ask)`, { hint: 'mailbox edit --help lists the flags' });
  }
  const parsed = parseAccountFlags(flags, existing);
  let { input } = parsed;
  let secret = await readStdinSecret(ctx, parsed.secret, 'edit');
  if (wizard) {
    ({ input, secret } = await askOnTerminal(ctx, { snapshot, input, given: parsed.given, secret, existing, acceptDefaults: Boolean(flags.yes) }));
  } else if (secret === 'stdin') {
    const password = await ctx.prompter.password({ message: existing.auth === 'oauth2' ? 'OAuth 2.0 access token' : 'Password', validate: (v) => v !== '' || 'expected a non-empty password' });
    secret = { kind: 'keychain', secret: password };
  }
  if (input.auth === 'none' && existing.auth !== 'none' && existing.secret && !(await confirmDropSecret(ctx, existing, Boolean(flags.yes)))) {
    return printSaveOutcome(ctx, { status: 'unchanged', account: { ...existing, provisioned: false }, changes: [], deactivated: [], weakChoices: [], cleanup: [], exitCode: 0 }, 'edit');
  }
  if (input.auth === 'none') delete input.secret;
  const hints = { command: 'edit' as const, account: existing.name };
  const outcome = await editAccount(ctx.accounts, {
    existing,
    input,
    secret,
    check: flags.test === false ? undefined : connectionCheck(ctx, { hints, askOnFailure: ctx.interactive && !flags.yes }),
    cwd: ctx.cwd,
  });
  const code = printSaveOutcome(ctx, outcome, 'edit');
  // A keychain entry that went is reported with the outcome; a reference to elsewhere just stops.
  const dropped = outcome.status === 'saved' && !outcome.account.secret ? existing.secret : undefined;
  if (dropped && dropped.kind !== 'keychain') ctx.out.info(`account ${existing.name}: authentication none: the password is no longer read from its ${secretWords(dropped)}`);
  if (code !== 0 || outcome.status !== 'saved' || !outcome.account.oauth) return code;
  const { moveTokens } = await import('../oauth-wiring.js');
  const sameGrant = existing.oauth?.toLowerCase() === outcome.account.oauth.toLowerCase();
  const moved = sameGrant && outcome.changes.includes('tokenStore') && (await moveTokens(ctx, existing.name, existing.tokenStore, outcome.account.tokenStore));
  // A new profile (or a new store that got no tokens) has none for the account yet.
  if (moved || !outcome.changes.some((c) => c === 'oauth' || c === 'tokenStore' || c === 'auth')) return code;
  const { offerAuthorization } = await import('./authorize.js');
  return offerAuthorization(ctx, outcome.account.name, !flags.yes);
}

export function register(command: Command, penv: ProgramEnv): void {
  declareAccountFlags(command.argument('<name>', 'account name'), 'edit')
    .addHelpText('after', EXAMPLES)
    .action(action<EditFlags>(penv, (ctx, flags, [name]) => edit(ctx, flags, name!), ([name]) => ({ command: 'edit', account: name })));
}
