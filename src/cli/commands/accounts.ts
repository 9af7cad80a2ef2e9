// Account commands: list and show here; add, edit, remove, activate, deactivate beside this file.
import type { Command } from 'commander';
import { ACCOUNT_TYPES, type AccountView } from '../../core/account.js';
import { requireAccount } from '../../core/rules.js';
import { oneOf } from '../../core/validate.js';
import { accountJson } from '../account-json.js';
import { action, type ProgramEnv } from '../action.js';
import { table } from '../printer.js';
import { registerActivationCommands } from './activate.js';
import { registerAddCommand } from './add.js';
import { registerEditCommand } from './edit.js';
import { registerRemoveCommand } from './remove.js';

function describeSecret(a: AccountView): string {
  const s = accountJson(a).secret;
  return s.kind === 'none' ? '-' : `${s.kind}:${s.ref}`;
}

export function registerAccountCommands(program: Command, penv: ProgramEnv): void {
  registerAddCommand(program, penv);
  program
    .command('list')
    .description('list accounts')
    .option('--type <type>', `only accounts of this type (${ACCOUNT_TYPES.join(', ')})`)
    .option('--active', 'only active accounts')
    .addHelpText('after', '\nExamples:\n  $ mailbox list\n  $ mailbox list --type imap --active --json')
    .action(
      action<{ type?: string; active?: boolean }>(penv, async (ctx, opts) => {
        const type = opts.type === undefined ? undefined : oneOf(opts.type, 'type', ACCOUNT_TYPES);
        const { accounts } = await ctx.snapshot();
        const shown = accounts.filter((a) => (!type || a.type === type) && (!opts.active || a.active));
        ctx.out.data(shown.map(accountJson), () =>
          shown.length === 0
            ? ''
            : table(
                ['NAME', 'TYPE', 'SERVER', 'SECURITY', 'USER', 'ACTIVE', 'FLAGS'],
                shown.map((a) => [
                  a.name,
                  a.type,
                  `${a.host}:${a.port}`,
                  a.security,
                  a.user ?? '-',
                  a.active ? 'yes' : 'no',
                  [a.provisioned ? 'provisioned' : '', a.debug ? 'debug' : ''].filter(Boolean).join(',') || '-',
                ]),
              ),
        );
        if (shown.length === 0 && !ctx.out.json) ctx.out.info('no accounts; add one with: mailbox add');
      }),
    );

  program
    .command('show')
    .description('show one account')
    .argument('<name>', 'account name')
    .addHelpText('after', '\nExamples:\n  $ mailbox show work-imap\n  $ mailbox show work-imap --json')
    .action(
      action(penv, async (ctx, _opts, [name]) => {
        const { accounts } = await ctx.snapshot();
        const account = requireAccount(accounts, name!);
        const json = accountJson(account);
        ctx.out.data(json, () =>
          Object.entries(json)
            .map(([k, v]) => `${k.padEnd(20)} ${v === null ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
            .join('\n'),
        );
      }),
    );
  registerEditCommand(program, penv);
  registerRemoveCommand(program, penv);
  registerActivationCommands(program, penv);
}
