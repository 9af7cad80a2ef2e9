// mailbox export | apply: the user's accounts and filters as one document, and back.
import type { Command } from 'commander';
import { accountWarnings } from '../../core/account.js';
import { MailboxError } from '../../core/errors.js';
import type { ApplyPlan, PlanEntry } from '../../core/plan.js';
import { findAccount } from '../../core/rules.js';
import { readAccountsFile } from '../../store/config-store.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';
import { removeQuietly } from '../secret-cleanup.js';
import { readAll } from '../stdin.js';
import path from 'node:path';

async function exportDocument(ctx: Context): Promise<number> {
  const { config } = await ctx.snapshot();
  // Always JSON: the output is a document for apply or provisioned.json, not a report.
  ctx.io.stdout.write(`${JSON.stringify({ accounts: config.accounts, filters: config.filters }, null, 2)}\n`);
  return 0;
}

function planLines(kind: string, entries: PlanEntry[]): string[] {
  return entries.map((e) => {
    const detail = e.action === 'update' && e.changes.length ? ` (${e.changes.join(', ')})` : '';
    const reason = e.reason ? ` [${e.reason}]` : '';
    return `${e.action.padEnd(9)} ${kind} ${e.name}${detail}${reason}`;
  });
}

function summary(plan: ApplyPlan): string {
  const counts = new Map<string, number>();
  for (const e of [...plan.accounts, ...plan.filters]) counts.set(e.action, (counts.get(e.action) ?? 0) + 1);
  return [...counts].map(([action, n]) => `${n} ${action}`).join(', ') || 'nothing in the file';
}

async function applyDocument(ctx: Context, opts: { file?: string; dryRun?: boolean; prune?: boolean }): Promise<number> {
  if (!opts.file) throw new MailboxError('EUSAGE', 'missing -f FILE (a document as printed by mailbox export; - reads standard input)');
  const source = opts.file === '-' ? '<stdin>' : path.resolve(ctx.cwd, opts.file);
  const doc = await readAccountsFile(source, opts.file === '-' ? await readAll(ctx.io.stdin) : undefined);
  const options = { prune: Boolean(opts.prune), source };
  const { planApply } = await import('../../core/plan.js');
  const { provisioned, config } = await ctx.snapshot();
  let plan: ApplyPlan;
  try {
    if (opts.dryRun) plan = planApply(config, provisioned, doc, options);
    else {
      // Planned again under the lock, against the config as it is at that moment.
      plan = await ctx.config.update((cfg) => {
        const p = planApply(cfg, provisioned, doc, options);
        return {
          config: p.changed ? p.config : undefined,
          result: p,
          afterWrite: async () => {
            for (const ref of p.orphanedSecrets) await removeQuietly(ctx, ref, ref.key);
          },
        };
      });
    }
  } catch (err) {
    // The document is the user's input: its problems are invalid values (65), not a broken config.
    if (err instanceof MailboxError && err.code === 'ECONFIG') throw new MailboxError('EVALUE', err.message, { field: err.field });
    throw err;
  }
  for (const e of plan.accounts) {
    const account = findAccount(doc.accounts, e.name);
    if (account && (e.action === 'create' || e.action === 'update')) for (const w of accountWarnings(account)) ctx.out.warn(w);
  }
  const result = { dryRun: Boolean(opts.dryRun), changed: plan.changed, accounts: plan.accounts, filters: plan.filters };
  ctx.out.data(result, () => [...planLines('account', plan.accounts), ...planLines('filter', plan.filters)].join('\n'));
  if (!plan.changed) ctx.out.info('no change: the store already matches the file');
  else ctx.out.info(`${summary(plan)}${opts.dryRun ? ' (dry run: nothing was written)' : ''}`);
  return 0;
}

export function registerTransferCommands(program: Command, penv: ProgramEnv): void {
  program
    .command('export')
    .description('print your accounts and filters as JSON (secret references only), for apply or provisioned.json')
    .addHelpText('after', '\nExamples:\n  $ mailbox export > accounts.json\n  $ mailbox export | ssh other-host mailbox apply -f -')
    .action(action(penv, (ctx) => exportDocument(ctx)));
  program
    .command('apply')
    .description('make your accounts and filters match a document (as printed by export)')
    .option('-f, --file <file>', 'the document; - reads standard input')
    .option('--dry-run', 'print the plan, write nothing')
    .option('--prune', 'also remove accounts and filters the file does not name (never provisioned ones)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ mailbox apply -f accounts.json --dry-run\n  $ mailbox apply -f accounts.json --prune --json\n  $ cat accounts.json | mailbox apply -f -',
    )
    .action(action<{ file?: string; dryRun?: boolean; prune?: boolean }>(penv, (ctx, opts) => applyDocument(ctx, opts)));
}
