// mailbox list: every account, provisioned ones first, as a table or JSON.
import type { Command } from 'commander';
import { ACCOUNT_TYPES } from '../../core/account.js';
import { oneOf } from '../../core/validate.js';
import { accountFlags, accountJson, secretCell } from '../account-json.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';
import { reportProblems } from '../problems.js';

export async function list(ctx: Context, opts: { type?: string; active?: boolean }): Promise<number> {
  const type = opts.type === undefined ? undefined : oneOf(opts.type, 'type', ACCOUNT_TYPES);
  const { accounts, problems } = await ctx.snapshot();
  const shown = accounts.filter((a) => (!type || a.type === type) && (!opts.active || a.active));
  ctx.out.data(shown.map(accountJson), () =>
    ctx.out.table(
      [
        { header: 'NAME' },
        { header: 'TYPE' },
        { header: 'SERVER', shrink: true, min: 14 },
        { header: 'SECURITY', drop: 1 },
        { header: 'USER', shrink: true, min: 8 },
        { header: 'SECRET', shrink: true, min: 12, drop: 2 },
        { header: 'ACTIVE' },
        { header: 'FLAGS', shrink: true },
      ],
      shown.map((a) => [a.name, a.type, `${a.host}:${a.port}`, a.security, a.user ?? '-', secretCell(a.secret), a.active ? 'yes' : 'no', accountFlags(a)]),
    ),
  );
  if (shown.length === 0 && !ctx.out.json) ctx.out.info('no accounts; add one with: mailbox add');
  return reportProblems(ctx.out, problems);
}

export function register(command: Command, penv: ProgramEnv): void {
  command
    .option('--type <type>', `only accounts of this type (${ACCOUNT_TYPES.join(', ')})`)
    .option('--active', 'only active accounts')
    .addHelpText('after', '\nExamples:\n  $ mailbox list\n  $ mailbox list --type imap --active --json')
    .action(action(penv, list));
}
