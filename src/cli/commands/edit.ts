// mailbox edit NAME: flags change single fields; on a terminal with no flags, the wizard, prefilled.
import type { Command } from 'commander';
import { MailboxError } from '../../core/errors.js';
import { assertEditable, requireAccount } from '../../core/rules.js';
import { accountOptions, checkFlagValues, hasAccountFlags, inputFromFlags, type AccountFlags } from '../account-flags.js';
import { action, type ProgramEnv } from '../action.js';

const EXAMPLES = `
Examples:
  $ mailbox edit work                              # wizard, prefilled, on a terminal
  $ mailbox edit work --port 1993 --security tls
  $ printf %s "$NEW_PW" | mailbox edit work --password-stdin
  $ mailbox edit work --password-env WORK_PASSWORD   # keychain entry is removed
  $ mailbox edit out --no-filter --debug

The type and the name of an account cannot change: add a new account and remove the old one.`;

export function registerEditCommand(program: Command, penv: ProgramEnv): void {
  const command = program.command('edit').description('change an account').argument('<name>', 'account name');
  accountOptions(command, 'edit')
    .option('--type <type>', 'must equal the current type (the type cannot change)')
    .addHelpText('after', EXAMPLES)
    .action(
      action<AccountFlags>(penv, async (ctx, flags, [name]) => {
        checkFlagValues(flags);
        // Loaded here, not at start-up: the wizard, the save path and the connection test are heavy.
        const [{ askOnTerminal, flagSecret }, { saveAccount }] = await Promise.all([import('../wizard.js'), import('../save-account.js')]);
        const snapshot = await ctx.snapshot();
        const view = requireAccount(snapshot.accounts, name!);
        assertEditable(view, 'edited');
        const { provisioned: _p, ...existing } = view;
        if (flags.type !== undefined && flags.type.toLowerCase() !== existing.type) {
          throw new MailboxError('EVALUE', `invalid type ${JSON.stringify(flags.type)}: account ${existing.name} is ${existing.type}, and the type of an account cannot change`, {
            field: 'type',
            hint: `add a new ${flags.type.toLowerCase()} account, then mailbox remove ${existing.name}`,
          });
        }
        const wizard = ctx.interactive && !hasAccountFlags(flags);
        if (!wizard && !hasAccountFlags(flags)) {
          throw new MailboxError('EUSAGE', `nothing to change: give at least one flag (no terminal to ask)`, { hint: 'mailbox edit --help lists the flags' });
        }
        let input = inputFromFlags(flags, existing);
        let secret = await flagSecret(ctx, flags);
        if (wizard) {
          ({ input, secret } = await askOnTerminal(ctx, { snapshot, flags, input, secret, existing }));
        } else if (flags.passwordStdin && ctx.interactive) {
          const password = await ctx.prompter.password({ message: existing.auth === 'oauth2' ? 'OAuth 2.0 access token' : 'Password', validate: (v) => v !== '' || 'expected a non-empty password' });
          secret = { kind: 'keychain', secret: password };
        }
        if (input.auth === 'none') delete input.secret;
        return saveAccount(ctx, { input, secret, existing, test: flags.test !== false, snapshot });
      }),
    );
}
