// mailbox activate NAME: one active SMTP account at a time; provisioned accounts too.
import type { Command } from 'commander';
import { setActive } from '../../jobs/accounts/activation.js';
import { reportDeactivated } from '../account-report.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';

/** activate and deactivate: switch, then say what changed. */
export async function switchAccount(ctx: Context, name: string, active: boolean): Promise<void> {
  const outcome = await setActive(ctx.accounts, name, active);
  const verb = active ? 'activated' : 'deactivated';
  ctx.out.info(outcome.changed ? `${verb} ${outcome.type} account ${outcome.name}` : `account ${outcome.name} is already ${active ? 'active' : 'inactive'}`);
  reportDeactivated(ctx.out, outcome.deactivated);
  ctx.out.data({ account: outcome.name, active, changed: outcome.changed, provisioned: outcome.provisioned, deactivated: outcome.deactivated }, () => '');
}

export function register(command: Command, penv: ProgramEnv): void {
  command
    .argument('<name>', 'account name')
    .addHelpText('after', '\nExamples:\n  $ mailbox activate work-smtp\n  $ mailbox activate work-imap --json')
    .action(action(penv, (ctx, _o, [name]) => switchAccount(ctx, name!, true)));
}
