// mailbox activate|deactivate NAME: one active SMTP account at a time; provisioned accounts too.
import type { Command } from 'commander';
import { accountViews, enforceOneActiveSmtp, requireAccount, withActive } from '../../core/rules.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';
import { reportDeactivated } from '../secret-cleanup.js';

async function switchAccount(ctx: Context, name: string, active: boolean): Promise<number> {
  const { provisioned } = await ctx.snapshot();
  const result = await ctx.config.update((cfg) => {
    const view = requireAccount(accountViews(cfg, provisioned.accounts), name);
    const outcome = { name: view.name, type: view.type, provisioned: view.provisioned, changed: view.active !== active, deactivated: [] as string[] };
    if (!outcome.changed) return { result: outcome };
    let next = withActive(cfg, view, active);
    if (active) {
      const enforced = enforceOneActiveSmtp(next, accountViews(next, provisioned.accounts), { ...view, active });
      next = enforced.config;
      outcome.deactivated = enforced.deactivated;
    }
    return { config: next, result: outcome };
  });
  const verb = active ? 'activated' : 'deactivated';
  ctx.out.info(result.changed ? `${verb} ${result.type} account ${result.name}` : `account ${result.name} is already ${active ? 'active' : 'inactive'}`);
  reportDeactivated(ctx, result.deactivated);
  ctx.out.data({ account: result.name, active, changed: result.changed, provisioned: result.provisioned, deactivated: result.deactivated }, () => '');
  return 0;
}

export function registerActivationCommands(program: Command, penv: ProgramEnv): void {
  program
    .command('activate')
    .description('switch an account on (an SMTP account switches the other SMTP accounts off)')
    .argument('<name>', 'account name')
    .addHelpText('after', '\nExamples:\n  $ mailbox activate work-smtp\n  $ mailbox activate work-imap --json')
    .action(action(penv, (ctx, _o, [name]) => switchAccount(ctx, name!, true)));
  program
    .command('deactivate')
    .description('switch an account off (provisioned accounts too: the choice is kept in your config)')
    .argument('<name>', 'account name')
    .addHelpText('after', '\nExamples:\n  $ mailbox deactivate work-imap\n  $ mailbox deactivate corp-smtp --json')
    .action(action(penv, (ctx, _o, [name]) => switchAccount(ctx, name!, false)));
}
