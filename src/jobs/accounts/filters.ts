// Adding, changing and removing address filters, each in one transaction: one default per direction
// (a new default takes over), provisioned filters untouched, and no filter removed while an account
// names it.
import { invalid, MailboxError } from '../../core/errors.js';
import { parseFilter, parsePattern, type AddressFilter } from '../../core/filter.js';
import { accountsUsingFilter, accountViews, filterViews, findFilter, requireFilter, sameName, type FilterView } from '../../core/rules.js';
import type { AccountStores } from './stores.js';

export interface AddFilterOutcome {
  filter: AddressFilter;
  /** The filter that stopped being the default of the direction. */
  replacedDefault: string | null;
}

function refuseProvisioned(filter: FilterView, action: string): void {
  if (filter.provisioned) throw new MailboxError('EPROVISIONED', `filter ${filter.name} is provisioned by the administrator and cannot be ${action}`);
}

/**
 * `filters` with `filter` in place of its old self (or added): one default per direction, so a new
 * default takes over from the user's old one, as activate does; a provisioned default stays.
 */
function withFilter(filters: readonly AddressFilter[], views: readonly FilterView[], filter: AddressFilter): { filters: AddressFilter[]; replacedDefault: string | null } {
  const previous = filter.default ? views.find((f) => f.direction === filter.direction && f.default && !sameName(f.name, filter.name)) : undefined;
  if (previous) refuseProvisioned(previous, `replaced as the default ${filter.direction} filter`);
  const others = filters.filter((f) => !sameName(f.name, filter.name)).map((f) => (previous && sameName(f.name, previous.name) ? { ...f, default: false } : f));
  const at = filters.findIndex((f) => sameName(f.name, filter.name));
  const next = [...others];
  next.splice(at < 0 ? next.length : at, 0, filter);
  return { filters: next, replacedDefault: previous?.name ?? null };
}

/** `input`: name, direction, allow, deny, default, as given; checked here. */
export async function addFilter(stores: AccountStores, input: Record<string, unknown>): Promise<AddFilterOutcome> {
  const filter = parseFilter(input);
  const provisioned = (await stores.provisioned()).filters;
  return stores.config.update((config) => {
    const views = filterViews(config, provisioned);
    const taken = findFilter(views, filter.name);
    if (taken) {
      throw new MailboxError('EVALUE', `invalid filter name ${JSON.stringify(filter.name)}: ${taken.provisioned ? 'a provisioned filter' : 'a filter'} named ${taken.name} already exists`, {
        field: 'name',
        hint: `change it with mailbox filter edit ${taken.name}, or remove it first (mailbox filter remove ${taken.name})`,
      });
    }
    const { filters, replacedDefault } = withFilter(config.filters, views, filter);
    return { config: { ...config, filters }, result: { filter, replacedDefault } };
  });
}

/** What `filter edit` changes: patterns to add and to remove per list, and the default flag. */
export interface FilterChange {
  allow?: readonly string[];
  deny?: readonly string[];
  removeAllow?: readonly string[];
  removeDeny?: readonly string[];
  default?: boolean;
}

export interface EditFilterOutcome extends AddFilterOutcome {
  /** The parts that changed: allow, deny, default (none: nothing was written). */
  changes: string[];
}

type List = 'allow' | 'deny';

/** One list after the change: removals must name patterns it has; additions already there change nothing. */
function changeList(filter: AddressFilter, list: List, add: readonly string[], remove: readonly string[]): string[] {
  const field = list === 'allow' ? 'remove-allow' : 'remove-deny';
  const adding = add.map((p) => parsePattern(p, list));
  const removing = remove.map((p) => parsePattern(p, field));
  const both = adding.find((p) => removing.includes(p));
  if (both) throw new MailboxError('EUSAGE', `pattern ${both} is both added to and removed from the ${list} list`);
  const missing = removing.find((p) => !filter[list].includes(p));
  if (missing) throw invalid(field, missing, `a pattern of the ${list} list of filter ${filter.name}: ${filter[list].join(', ') || 'it is empty'}`);
  const kept = filter[list].filter((p) => !removing.includes(p));
  return [...kept, ...adding.filter((p) => !kept.includes(p))];
}

export async function editFilter(stores: AccountStores, name: string, change: FilterChange): Promise<EditFilterOutcome> {
  const provisioned = (await stores.provisioned()).filters;
  return stores.config.update((config) => {
    const views = filterViews(config, provisioned);
    const current = requireFilter(views, name);
    refuseProvisioned(current, 'edited');
    const { provisioned: _provisioned, ...before } = current;
    const filter = parseFilter({
      ...before,
      allow: changeList(before, 'allow', change.allow ?? [], change.removeAllow ?? []),
      deny: changeList(before, 'deny', change.deny ?? [], change.removeDeny ?? []),
      default: change.default ?? before.default,
    });
    const changes = (['allow', 'deny', 'default'] as const).filter((k) => JSON.stringify(filter[k]) !== JSON.stringify(before[k]));
    if (changes.length === 0) return { result: { filter, changes, replacedDefault: null } };
    const { filters, replacedDefault } = withFilter(config.filters, views, filter);
    return { config: { ...config, filters }, result: { filter, changes, replacedDefault } };
  });
}

export async function removeFilter(stores: AccountStores, name: string): Promise<{ removed: string }> {
  const provisioned = await stores.provisioned();
  return stores.config.update((config) => {
    const filter = requireFilter(filterViews(config, provisioned.filters), name);
    refuseProvisioned(filter, 'removed');
    // Refused rather than leaving accounts pointing at nothing (they would silently lose their filter).
    const users = accountsUsingFilter(accountViews(config, provisioned.accounts), filter.name);
    if (users.length > 0) {
      throw new MailboxError('EVALUE', `filter ${filter.name} is used by account${users.length > 1 ? 's' : ''} ${users.map((a) => a.name).join(', ')}`, {
        field: 'filter',
        hint: `give ${users.length > 1 ? 'them' : 'it'} another filter, or none, first`,
        fixes: [{ field: 'filter', value: 'OTHER' }, { field: 'filter', clear: true }],
        account: users[0]!.name,
      });
    }
    return { config: { ...config, filters: config.filters.filter((f) => !sameName(f.name, filter.name)) }, result: { removed: filter.name } };
  });
}
