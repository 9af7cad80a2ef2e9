// mailbox filter add|list|remove|test: allow and deny lists of addresses and domains, per direction.
import type { Command } from 'commander';
import { invalid, MailboxError } from '../../core/errors.js';
import { DIRECTIONS, evaluateFilter, parseFilter, type AddressFilter } from '../../core/filter.js';
import { accountsUsingFilter, accountViews, filterViews, findFilter, requireFilter, sameName } from '../../core/rules.js';
import { isAddress, oneOf } from '../../core/validate.js';
import { action, collect, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';
import { table } from '../printer.js';

type FilterView = AddressFilter & { provisioned: boolean };

function filterJson(f: FilterView, usedBy: string[]) {
  return { name: f.name, direction: f.direction, allow: f.allow, deny: f.deny, default: f.default, provisioned: f.provisioned, usedBy };
}

function refuseProvisioned(f: FilterView, action: string): void {
  if (f.provisioned) {
    throw new MailboxError('EPROVISIONED', `filter ${f.name} is provisioned by the administrator and cannot be ${action}`);
  }
}

async function addFilter(ctx: Context, name: string, opts: { direction?: string; allow?: string[]; deny?: string[]; default?: boolean }): Promise<number> {
  if (opts.direction === undefined) throw new MailboxError('EUSAGE', `missing --direction (${DIRECTIONS.join(' or ')})`);
  const filter = parseFilter({ name, direction: opts.direction, allow: opts.allow ?? [], deny: opts.deny ?? [], default: Boolean(opts.default) });
  const { provisioned } = await ctx.snapshot();
  const replaced = await ctx.config.update((cfg) => {
    const views = filterViews(cfg, provisioned.filters);
    const taken = findFilter(views, filter.name);
    if (taken) {
      throw new MailboxError('EVALUE', `invalid filter name ${JSON.stringify(filter.name)}: ${taken.provisioned ? 'a provisioned filter' : 'a filter'} named ${taken.name} already exists`, {
        field: 'name',
        hint: `remove it first (mailbox filter remove ${taken.name}) or change filters with mailbox apply`,
      });
    }
    // One default per direction: the new default takes over from the user's old one, as activate does.
    const previous = filter.default ? views.find((f) => f.direction === filter.direction && f.default) : undefined;
    if (previous) refuseProvisioned(previous, `replaced as the default ${filter.direction} filter`);
    const filters = cfg.filters.map((f) => (previous && sameName(f.name, previous.name) ? { ...f, default: false } : f));
    return { config: { ...cfg, filters: [...filters, filter] }, result: previous?.name ?? null };
  });
  ctx.out.info(`added ${filter.direction} filter ${filter.name}${filter.default ? ` (default for ${filter.direction})` : ''}`);
  if (replaced) ctx.out.info(`filter ${replaced} is no longer the default ${filter.direction} filter`);
  if (filter.deny.length === 0) ctx.out.warn(`filter ${filter.name} has no --deny pattern: it blocks nothing`);
  ctx.out.data({ filter: filterJson({ ...filter, provisioned: false }, []), replacedDefault: replaced }, () => '');
  return 0;
}

async function listFilters(ctx: Context, opts: { direction?: string }): Promise<number> {
  const direction = opts.direction === undefined ? undefined : oneOf(opts.direction, 'direction', DIRECTIONS);
  const { filters, accounts } = await ctx.snapshot();
  const shown = filters.filter((f) => !direction || f.direction === direction).map((f) => filterJson(f, accountsUsingFilter(accounts, f.name).map((a) => a.name)));
  ctx.out.data(shown, () =>
    shown.length === 0
      ? ''
      : table(
          ['NAME', 'DIRECTION', 'DEFAULT', 'ALLOW', 'DENY', 'USED BY', 'FLAGS'],
          shown.map((f) => [
            f.name,
            f.direction,
            f.default ? 'yes' : 'no',
            f.allow.join(',') || '-',
            f.deny.join(',') || '-',
            f.usedBy.join(',') || '-',
            f.provisioned ? 'provisioned' : '-',
          ]),
        ),
  );
  if (shown.length === 0 && !ctx.out.json) ctx.out.info('no filters; add one with: mailbox filter add NAME --direction inbound --deny PATTERN');
  return 0;
}

async function removeFilter(ctx: Context, name: string): Promise<number> {
  const { provisioned } = await ctx.snapshot();
  const removed = await ctx.config.update((cfg) => {
    const filter = requireFilter(filterViews(cfg, provisioned.filters), name);
    refuseProvisioned(filter, 'removed');
    // Refused rather than leaving accounts pointing at nothing (they would silently lose their filter).
    const users = accountsUsingFilter(accountViews(cfg, provisioned.accounts), filter.name);
    if (users.length > 0) {
      throw new MailboxError('EVALUE', `filter ${filter.name} is used by account${users.length > 1 ? 's' : ''} ${users.map((a) => a.name).join(', ')}`, {
        field: 'filter',
        hint: `give ${users.length > 1 ? 'them' : 'it'} another filter first: mailbox edit ${users[0]!.name} --no-filter (or --filter OTHER)`,
      });
    }
    return { config: { ...cfg, filters: cfg.filters.filter((f) => !sameName(f.name, filter.name)) }, result: filter.name };
  });
  ctx.out.info(`removed filter ${removed}`);
  ctx.out.data({ removed }, () => '');
  return 0;
}

async function testFilter(ctx: Context, name: string, address: string): Promise<number> {
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
  return 0;
}

export function registerFilterCommands(program: Command, penv: ProgramEnv): void {
  const filter = program
    .command('filter')
    .description('address filters: who may send to us (inbound), who may receive from us (outbound)')
    .addHelpText(
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
    .action(action<{ direction?: string; allow?: string[]; deny?: string[]; default?: boolean }>(penv, (ctx, opts, [name]) => addFilter(ctx, name!, opts)));
  filter
    .command('list')
    .description('list filters and the accounts that use them')
    .option('--direction <direction>', 'only inbound or outbound filters')
    .addHelpText('after', '\nExamples:\n  $ mailbox filter list\n  $ mailbox filter list --direction inbound --json')
    .action(action<{ direction?: string }>(penv, (ctx, opts) => listFilters(ctx, opts)));
  filter
    .command('remove')
    .description('remove a filter (refused while an account uses it)')
    .argument('<name>', 'filter name')
    .addHelpText('after', '\nExamples:\n  $ mailbox filter remove junk')
    .action(action(penv, (ctx, _o, [name]) => removeFilter(ctx, name!)));
  filter
    .command('test')
    .description('tell whether a filter blocks an address, and which pattern decided')
    .argument('<name>', 'filter name')
    .argument('<address>', 'email address')
    .addHelpText('after', '\nExamples:\n  $ mailbox filter test junk bob@spam.test\n  $ mailbox filter test junk bob@spam.test --json')
    .action(action(penv, (ctx, _o, [name, address]) => testFilter(ctx, name!, address!)));
}
