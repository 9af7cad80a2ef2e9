// mailbox show NAME: one account, field by field, or as JSON.
import type { Command } from 'commander';
import { requireAccount } from '../../core/rules.js';
import { accountJson } from '../account-json.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';

export async function show(ctx: Context, name: string): Promise<void> {
  const { accounts } = await ctx.snapshot();
  const json = accountJson(requireAccount(accounts, name));
  ctx.out.data(json, () =>
    Object.entries(json)
      .map(([k, v]) => `${k.padEnd(20)} ${v === null ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join('\n'),
  );
}

export function register(command: Command, penv: ProgramEnv): void {
  command
    .argument('<name>', 'account name')
    .addHelpText('after', '\nExamples:\n  $ mailbox show work-imap\n  $ mailbox show work-imap --json')
    .action(action(penv, (ctx, _opts, [name]) => show(ctx, name!)));
}
