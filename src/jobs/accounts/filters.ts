// Adding and removing address filters, each in one transaction: one default per direction (a new
// default takes over), provisioned filters untouched, and no filter removed while an account names it.
import { MailboxError } from '../../core/errors.js';
import { parseFilter, type AddressFilter } from '../../core/filter.js';
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
        hint: `remove it first (mailbox filter remove ${taken.name}) or change filters with mailbox apply`,
      });
    }
    // One default per direction: the new default takes over from the user's old one, as activate does.
    const previous = filter.default ? views.find((f) => f.direction === filter.direction && f.default) : undefined;
    if (previous) refuseProvisioned(previous, `replaced as the default ${filter.direction} filter`);
    const filters = config.filters.map((f) => (previous && sameName(f.name, previous.name) ? { ...f, default: false } : f));
    return { config: { ...config, filters: [...filters, filter] }, result: { filter, replacedDefault: previous?.name ?? null } };
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
