// mailbox export: the user's accounts and filters as one document (secret references only).
import type { Command } from 'commander';
import { documentAccount } from '../account-json.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';

export async function exportDocument(ctx: Context): Promise<void> {
  const { config } = await ctx.snapshot();
  // Always JSON: the output is a document for apply or provisioned.json, not a report.
  const doc = { accounts: config.accounts.map(documentAccount), filters: config.filters, ...(config.oauthProfiles?.length ? { oauthProfiles: config.oauthProfiles } : {}), ...(config.settings ? { settings: config.settings } : {}) };
  ctx.io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}

export function register(command: Command, penv: ProgramEnv): void {
  command
    .addHelpText('after', '\nExamples:\n  $ mailbox export > accounts.json\n  $ mailbox export | ssh other-host mailbox apply -f -')
    .action(action(penv, (ctx) => exportDocument(ctx)));
}
