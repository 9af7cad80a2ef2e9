// mailbox remove NAME: asks first on a terminal, needs --yes without one; removes the keychain entry.
import type { Command } from 'commander';
import { MailboxError } from '../../core/errors.js';
import { accountViews, assertEditable, requireAccount, sameName } from '../../core/rules.js';
import { action, type ProgramEnv } from '../action.js';
import { secretSource } from '../account-json.js';
import { removeQuietly, stillReferenced } from '../secret-cleanup.js';

export function registerRemoveCommand(program: Command, penv: ProgramEnv): void {
  program
    .command('remove')
    .description('remove an account and its keychain entry')
    .argument('<name>', 'account name')
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .addHelpText('after', '\nExamples:\n  $ mailbox remove old-imap\n  $ mailbox remove old-imap --yes --json')
    .action(
      action<{ yes?: boolean }>(penv, async (ctx, opts, [name]) => {
        const snapshot = await ctx.snapshot();
        const view = requireAccount(snapshot.accounts, name!);
        assertEditable(view, 'removed');
        if (!opts.yes) {
          if (!ctx.interactive) {
            throw new MailboxError('EUSAGE', `remove ${view.name}: confirm with --yes (no terminal to ask)`, { hint: `mailbox remove ${view.name} --yes` });
          }
          const s = secretSource(view.secret);
          const extra = s.kind === 'keychain' ? ` and its keychain entry ${s.ref}` : '';
          const sure = await ctx.prompter.confirm({ message: `Remove ${view.type} account ${view.name}${extra}?`, default: false });
          if (!sure) {
            ctx.out.info(`kept account ${view.name}`);
            ctx.out.data({ removed: null, secretRemoved: false }, () => '');
            return 0;
          }
        }
        const provisioned = snapshot.provisioned.accounts;
        const result = await ctx.config.update((cfg) => {
          const current = requireAccount(accountViews(cfg, provisioned), view.name);
          assertEditable(current, 'removed');
          const accounts = cfg.accounts.filter((a) => !sameName(a.name, current.name));
          const ref = current.secret;
          const ownEntry = ref?.kind === 'keychain' && !stillReferenced(accounts, provisioned, ref) ? ref : undefined;
          const outcome = { name: current.name, type: current.type, secretRemoved: null as boolean | null };
          return {
            config: { ...cfg, accounts },
            result: outcome,
            afterWrite: ownEntry
              ? async () => {
                  outcome.secretRemoved = await removeQuietly(ctx, ownEntry, current.name);
                }
              : undefined,
          };
        });
        ctx.out.info(`removed ${result.type} account ${result.name}${result.secretRemoved ? ' and its keychain entry' : ''}`);
        ctx.out.data({ removed: result.name, secretRemoved: result.secretRemoved }, () => '');
        return 0;
      }),
    );
}
