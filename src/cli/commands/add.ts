// mailbox add: flags for scripts, a wizard on a terminal for whatever the flags did not give.
import type { Command } from 'commander';
import { parseName } from '../../core/account.js';
import { MailboxError } from '../../core/errors.js';
import { assertNameFree } from '../../core/rules.js';
import { accountOptions, checkFlagValues, inputFromFlags, missingFlags, type AccountFlags } from '../account-flags.js';
import { action, type ProgramEnv } from '../action.js';

const EXAMPLES = `
Examples:
  $ mailbox add                                   # wizard on a terminal
  $ printf %s "$PW" | mailbox add --type imap --name work --host imap.example.com \\
      --user me@example.com --password-stdin
  $ mailbox add --type smtp --name out --host smtp.example.com --security starttls \\
      --user me@example.com --password-env SMTP_PASSWORD --no-test
  $ mailbox add --type pop3 --name archive --host pop.example.com --user me \\
      --password-command "pass show mail/archive" --delete-after-download --max-size 20MB`;

export function registerAddCommand(program: Command, penv: ProgramEnv): void {
  accountOptions(program.command('add').description('add an account (a wizard asks for what the flags do not give)'), 'add')
    .addHelpText('after', EXAMPLES)
    .action(
      action<AccountFlags>(penv, async (ctx, flags) => {
        checkFlagValues(flags);
        // Loaded here, not at start-up: the wizard, the save path and the connection test are heavy.
        const [{ askOnTerminal, flagSecret }, { saveAccount }] = await Promise.all([import('../wizard.js'), import('../save-account.js')]);
        const snapshot = await ctx.snapshot();
        // A taken name fails before the wizard asks anything else.
        if (flags.name !== undefined) assertNameFree(snapshot.accounts, parseName(flags.name));
        let input = inputFromFlags(flags);
        let secret = await flagSecret(ctx, flags);
        if (ctx.interactive) {
          ({ input, secret } = await askOnTerminal(ctx, { snapshot, flags, input, secret }));
        } else {
          const missing = missingFlags(input, secret);
          if (missing.length > 0) {
            throw new MailboxError('EUSAGE', `missing ${missing.join('; ')} (no terminal to ask: give them as flags)`, {
              hint: 'mailbox add --help lists the flags',
            });
          }
        }
        return saveAccount(ctx, { input, secret, test: flags.test !== false, snapshot });
      }),
    );
}
