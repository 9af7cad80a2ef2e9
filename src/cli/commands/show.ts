// mailbox show NAME: one account, field by field for people, or as JSON.
import type { Command } from 'commander';
import { requireAccount } from '../../core/rules.js';
import { accountJson, accountLines } from '../account-json.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';

export async function show(ctx: Context, name: string): Promise<void> {
  const { accounts, filters } = await ctx.snapshot();
  const account = requireAccount(accounts, name);
  ctx.out.data(accountJson(account), () => {
    const lines = accountLines(account, filters);
    const width = Math.max(...lines.map(([label]) => label.length));
    return lines.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
  });
}

export function register(command: Command, penv: ProgramEnv): void {
  command
    .argument('<name>', 'account name')
    .addHelpText('after', '\nExamples:\n  $ mailbox show work-imap\n  $ mailbox show work-imap --json')
    .action(action(penv, (ctx, _opts, [name]) => show(ctx, name!)));
}
