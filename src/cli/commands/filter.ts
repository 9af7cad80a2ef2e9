// mailbox filter add|list|edit|remove|test: allow and deny lists of addresses and domains, per direction.
import type { Command } from 'commander';
import { invalid, MailboxError } from '../../core/errors.js';
import { DIRECTIONS, evaluateFilter } from '../../core/filter.js';
import type { AccountView } from '../../core/account.js';
import { accountsUsingFilter, directionOf, requireFilter, type FilterView } from '../../core/rules.js';
import { isAddress, oneOf } from '../../core/validate.js';
import { addFilter, editFilter, removeFilter } from '../../jobs/accounts/filters.js';
import { action, collect, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';

interface AddFilterFlags {
  direction?: string;
  allow?: string[];
  deny?: string[];
  default?: boolean;
}

/** `usedBy`: the accounts that name the filter; `usedByDefault`: those it applies to as the default of its direction. */
function filterJson(f: FilterView, usedBy: string[], usedByDefault: string[]) {
  return { name: f.name, direction: f.direction, allow: f.allow, deny: f.deny, default: f.default, provisioned: f.provisioned, usedBy, usedByDefault };
}

/** The accounts a default filter applies to because they name none. */
function takingDefault(f: FilterView, accounts: readonly AccountView[]): string[] {
  return f.default ? accounts.filter((a) => !a.filter && directionOf(a.type) === f.direction).map((a) => a.name) : [];
}

export async function add(ctx: Context, name: string, opts: AddFilterFlags): Promise<void> {
  if (opts.direction === undefined) throw new MailboxError('EUSAGE', `missing --direction (${DIRECTIONS.join(' or ')})`);
  const { filter, replacedDefault } = await addFilter(ctx.accounts, { name, direction: opts.direction, allow: opts.allow ?? [], deny: opts.deny ?? [], default: Boolean(opts.default) });
  ctx.out.info(`added ${filter.direction} filter ${filter.name}${filter.default ? ` (default for ${filter.direction})` : ''}`);
  if (replacedDefault) ctx.out.info(`filter ${replacedDefault} is no longer the default ${filter.direction} filter`);
  if (filter.deny.length === 0) ctx.out.warn(`filter ${filter.name} has no --deny pattern: it blocks nothing`);
  const taking = filter.default ? takingDefault({ ...filter, provisioned: false }, (await ctx.snapshot()).accounts) : [];
  ctx.out.data({ filter: filterJson({ ...filter, provisioned: false }, [], taking), replacedDefault }, () => '');
}

export async function list(ctx: Context, opts: { direction?: string }): Promise<void> {
  const direction = opts.direction === undefined ? undefined : oneOf(opts.direction, 'direction', DIRECTIONS);
  const { filters, accounts } = await ctx.snapshot();
  const shown = filters
    .filter((f) => !direction || f.direction === direction)
    .map((f) => filterJson(f, accountsUsingFilter(accounts, f.name).map((a) => a.name), takingDefault(f, accounts)));
  ctx.out.data(shown, () =>
    ctx.out.table(
      [
        { header: 'NAME' },
        { header: 'DIRECTION' },
        { header: 'DEFAULT', drop: 1 },
        { header: 'ALLOW', shrink: true },
        { header: 'DENY', shrink: true },
        { header: 'USED BY', shrink: true, min: 24 },
        { header: 'FLAGS', drop: 2 },
      ],
      shown.map((f) => [
        f.name,
        f.direction,
        f.default ? 'yes' : 'no',
        f.allow.join(',') || '-',
        f.deny.join(',') || '-',
        [...f.usedBy, ...f.usedByDefault.map((name) => `${name} (default)`)].join(', ') || '-',
        f.provisioned ? 'provisioned' : '-',
      ]),
    ),
  );
  if (shown.length === 0 && !ctx.out.json) ctx.out.info('no filters; add one with: mailbox filter add NAME --direction inbound --deny PATTERN');
}

interface EditFilterFlags {
  allow?: string[];
  deny?: string[];
  removeAllow?: string[];
  removeDeny?: string[];
  default?: boolean;
}

export async function edit(ctx: Context, name: string, opts: EditFilterFlags): Promise<void> {
  const asked = [opts.allow, opts.deny, opts.removeAllow, opts.removeDeny].some((l) => l?.length) || opts.default !== undefined;
  if (!asked) throw new MailboxError('EUSAGE', 'nothing to change: give --allow, --deny, --remove-allow, --remove-deny, --default or --no-default', { hint: 'mailbox filter edit --help' });
  const { filter, changes, replacedDefault } = await editFilter(ctx.accounts, name, opts);
  if (changes.length === 0) ctx.out.info(`filter ${filter.name}: nothing to change`);
  else ctx.out.info(`updated ${filter.direction} filter ${filter.name}: ${changes.join(', ')}${filter.default ? ` (default for ${filter.direction})` : ''}`);
  if (replacedDefault) ctx.out.info(`filter ${replacedDefault} is no longer the default ${filter.direction} filter`);
  if (changes.includes('deny') && filter.deny.length === 0) ctx.out.warn(`filter ${filter.name} has no deny pattern left: it blocks nothing`);
  const { accounts } = await ctx.snapshot();
  const view = { ...filter, provisioned: false };
  ctx.out.data({ filter: filterJson(view, accountsUsingFilter(accounts, filter.name).map((a) => a.name), takingDefault(view, accounts)), changes, replacedDefault }, () => '');
}

export async function remove(ctx: Context, name: string): Promise<void> {
  const { removed } = await removeFilter(ctx.accounts, name);
  ctx.out.info(`removed filter ${removed}`);
  ctx.out.data({ removed }, () => '');
}

export async function test(ctx: Context, name: string, address: string): Promise<void> {
  if (!isAddress(address.trim())) throw invalid('address', address, 'an email address such as bob@example.com');
  const { filters } = await ctx.snapshot();
  const filter = requireFilter(filters, name);
  const decision = evaluateFilter(filter, address.trim());
  const result = { filter: filter.name, address: address.trim(), blocked: decision.blocked, decidedBy: decision.decidedBy };
  ctx.out.data(result, () => {
    const verdict = decision.blocked ? 'blocked' : 'allowed';
    const why = decision.decidedBy ? `${decision.decidedBy.list} pattern ${decision.decidedBy.pattern}` : 'no pattern matched';
    return `${verdict}: ${result.address} (${why})`;
  });
}

export function register(filter: Command, penv: ProgramEnv): void {
  filter.addHelpText(
    'after',
    `
Patterns are addresses or domains with * wildcards: bob@example.com, example.com, *.example.com, *@example.com.
An address is blocked when some deny pattern matches and no allow pattern does.

Examples:
  $ mailbox filter add no-spam --direction inbound --deny '*.spam.test' --allow friend@spam.test --default
  $ mailbox filter test no-spam bob@mx.spam.test`,
  );
  filter
    .command('add')
    .description('add a filter')
    .argument('<name>', 'filter name')
    .option('--direction <direction>', 'inbound (POP3/IMAP accounts) or outbound (the SMTP account)')
    .option('--allow <pattern>', 'allow this address or domain (repeatable)', collect)
    .option('--deny <pattern>', 'deny this address or domain (repeatable)', collect)
    .option('--default', 'use it for every account of the direction that names no filter')
    .addHelpText(
      'after',
      "\nExamples:\n  $ mailbox filter add partners --direction outbound --deny '*' --allow '*.partner.example' --allow boss@example.com\n  $ mailbox filter add junk --direction inbound --deny spam.test --default",
    )
    .action(action<AddFilterFlags>(penv, (ctx, opts, [name]) => add(ctx, name!, opts)));
  filter
    .command('list')
    .description('list filters and the accounts that use them')
    .option('--direction <direction>', 'only inbound or outbound filters')
    .addHelpText('after', '\nExamples:\n  $ mailbox filter list\n  $ mailbox filter list --direction inbound --json')
    .action(action<{ direction?: string }>(penv, list));
  filter
    .command('edit')
    .description('change a filter: add or remove patterns, make it the default of its direction or not')
    .argument('<name>', 'filter name')
    .option('--allow <pattern>', 'add to the allow list (repeatable)', collect)
    .option('--deny <pattern>', 'add to the deny list (repeatable)', collect)
    .option('--remove-allow <pattern>', 'remove from the allow list (repeatable)', collect)
    .option('--remove-deny <pattern>', 'remove from the deny list (repeatable)', collect)
    .option('--default', 'make it the default of its direction (the old default stops being it)')
    .option('--no-default', 'stop being the default of its direction')
    .addHelpText(
      'after',
      "\nExamples:\n  $ mailbox filter edit junk --deny '*.spam.test' --remove-deny spam.test\n  $ mailbox filter edit partners --allow boss@example.com --default --json",
    )
    .action(action<EditFilterFlags>(penv, (ctx, opts, [name]) => edit(ctx, name!, opts)));
  filter
    .command('remove')
    .description('remove a filter (refused while an account uses it)')
    .argument('<name>', 'filter name')
    .addHelpText('after', '\nExamples:\n  $ mailbox filter remove junk')
    .action(action(penv, (ctx, _o, [name]) => remove(ctx, name!)));
  filter
    .command('test')
    .description('tell whether a filter blocks an address, and which pattern decided')
    .argument('<name>', 'filter name')
    .argument('<address>', 'email address')
    .addHelpText('after', '\nExamples:\n  $ mailbox filter test junk bob@spam.test\n  $ mailbox filter test junk bob@spam.test --json')
    .action(action(penv, (ctx, _o, [name, address]) => test(ctx, name!, address!)));
}
