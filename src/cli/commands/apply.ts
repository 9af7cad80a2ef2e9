// mailbox apply -f FILE: make the user's accounts and filters match a document, and print the plan.
import path from 'node:path';
import type { Command } from 'commander';
import { MailboxError } from '../../core/errors.js';
import type { ApplyPlan, PlanEntry } from '../../core/plan.js';
import { applyDocument } from '../../jobs/accounts/apply.js';
import { readAccountsFile } from '../../store/config-store.js';
import { reportCleanup } from '../account-report.js';
import { choiceWarning } from '../choice-warnings.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';
import { readAll } from '../io.js';

interface ApplyFlags {
  file?: string;
  dryRun?: boolean;
  prune?: boolean;
}

export function planLines(kind: string, entries: PlanEntry[]): string[] {
  return entries.map((e) => {
    const detail = e.action === 'update' && e.changes.length ? ` (${e.changes.join(', ')})` : '';
    const reason = e.reason ? ` [${e.reason}]` : '';
    return `${e.action.padEnd(9)} ${kind} ${e.name}${detail}${reason}`;
  });
}

function summary(plan: ApplyPlan): string {
  const counts = new Map<string, number>();
  for (const e of [...plan.accounts, ...plan.filters, ...plan.oauthProfiles, ...plan.settings]) counts.set(e.action, (counts.get(e.action) ?? 0) + 1);
  return [...counts].map(([action, n]) => `${n} ${action}`).join(', ') || 'nothing in the file';
}

export async function apply(ctx: Context, opts: ApplyFlags): Promise<void> {
  if (!opts.file) throw new MailboxError('EUSAGE', 'missing -f FILE (a document as printed by mailbox export; - reads standard input)');
  const source = opts.file === '-' ? '<stdin>' : path.resolve(ctx.cwd, opts.file);
  const doc = await readAccountsFile(source, opts.file === '-' ? await readAll(ctx.io.stdin) : undefined);
  const dryRun = Boolean(opts.dryRun);
  const { plan, weakChoices, cleanup } = await applyDocument(ctx.accounts, doc, { prune: Boolean(opts.prune), dryRun, source });
  for (const c of weakChoices) ctx.out.warn(choiceWarning(c, 'document'));
  reportCleanup(ctx.out, cleanup);
  ctx.out.data({ dryRun, changed: plan.changed, accounts: plan.accounts, filters: plan.filters, ...(plan.oauthProfiles.length ? { oauthProfiles: plan.oauthProfiles } : {}), ...(plan.settings.length ? { settings: plan.settings } : {}) }, () =>
    [...planLines('account', plan.accounts), ...planLines('filter', plan.filters), ...planLines('oauth profile', plan.oauthProfiles), ...planLines('setting', plan.settings)].join('\n'),
  );
  if (!plan.changed) ctx.out.info('no change: the store already matches the file');
  else ctx.out.info(`${summary(plan)}${dryRun ? ' (dry run: nothing was written)' : ''}`);
}

export function register(command: Command, penv: ProgramEnv): void {
  command
    .option('-f, --file <file>', 'the document; - reads standard input')
    .option('--dry-run', 'print the plan, write nothing')
    .option('--prune', 'also remove accounts and filters the file does not name (never provisioned ones)')
    .addHelpText('after', '\nExamples:\n  $ mailbox apply -f accounts.json --dry-run\n  $ mailbox apply -f accounts.json --prune --json\n  $ cat accounts.json | mailbox apply -f -')
    .action(action<ApplyFlags>(penv, apply));
}
