// The rules admins know: one active SMTP account, provisioned accounts only switched on and off
// (and listed before the user's own), filters that fit the account's direction, one default filter
// per direction. Hints name the account field to change (fixes); the CLI words them as flags.
import type { Account, AccountType, AccountView } from './account.js';
import type { Config } from './config.js';
import { MailboxError, shown } from './errors.js';
import type { AddressFilter, Direction } from './filter.js';

export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** A filter as shown: stored or provisioned. */
export type FilterView = AddressFilter & { provisioned: boolean };

/** The lower-cased names of a list, for lookups that stay linear on a large store. */
export function nameSet(items: readonly { name: string }[]): Set<string> {
  return new Set(items.map((i) => i.name.toLowerCase()));
}

/** The user's entries that a provisioned one of the same name hides (a rule violation: see configProblems). */
export function hiddenByProvisioned<T extends { name: string }>(own: readonly T[], provisioned: readonly { name: string }[]): T[] {
  if (provisioned.length === 0) return [];
  const taken = nameSet(provisioned);
  return own.filter((o) => taken.has(o.name.toLowerCase()));
}

/**
 * Provisioned accounts first (with the user's on/off choice), then the user's own. A user account
 * whose name collides with a provisioned one is hidden by it (and reported: configProblems).
 */
export function accountViews(config: Config, provisioned: readonly Account[]): AccountView[] {
  const views: AccountView[] = provisioned.map((a) => ({
    ...a,
    active: config.provisionedActive[a.name.toLowerCase()] ?? a.active,
    provisioned: true,
  }));
  const taken = nameSet(provisioned);
  for (const account of config.accounts) {
    if (!taken.has(account.name.toLowerCase())) views.push({ ...account, provisioned: false });
  }
  return views;
}

/** All filters in effect: the administrator's provisioned ones and the user's (a name collision hides the user's). */
export function filterViews(config: Config, provisioned: readonly AddressFilter[]): FilterView[] {
  const views = provisioned.map((f) => ({ ...f, provisioned: true }));
  const taken = nameSet(provisioned);
  for (const filter of config.filters) {
    if (!taken.has(filter.name.toLowerCase())) views.push({ ...filter, provisioned: false });
  }
  return views;
}

export function findAccount<T extends Account>(accounts: readonly T[], name: string): T | undefined {
  return accounts.find((a) => sameName(a.name, name));
}

export function requireAccount<T extends Account>(accounts: readonly T[], name: string): T {
  const account = findAccount(accounts, name);
  if (!account) {
    throw new MailboxError('ENOTFOUND', `no account named ${shown(name)}`, { hint: 'mailbox list shows the accounts' });
  }
  return account;
}

export function assertEditable(account: AccountView, action: string): void {
  if (account.provisioned) {
    throw new MailboxError('EPROVISIONED', `account ${account.name} is provisioned by the administrator and cannot be ${action}`, {
      hint: 'provisioned accounts can only be activated and deactivated',
    });
  }
}

/** Names are unique without regard to case, across the user's and the provisioned accounts. */
export function assertNameFree(accounts: readonly AccountView[], name: string): void {
  const taken = findAccount(accounts, name);
  if (taken) {
    const whose = taken.provisioned ? 'a provisioned account' : 'an account';
    // A provisioned account cannot be edited: only another name helps then.
    const hint = taken.provisioned ? 'choose another name' : `to change the existing account, use mailbox edit ${taken.name}; otherwise choose another name`;
    throw new MailboxError('EVALUE', `invalid name ${shown(name)}: ${whose} named ${taken.name} already exists (names are case-insensitive)`, {
      field: 'name',
      hint,
      fixes: [{ field: 'name', value: 'OTHER' }],
    });
  }
}

/**
 * Which other accounts must be switched off when `target` becomes active: only one SMTP account
 * may be active at a time; incoming accounts are independent.
 */
function accountsToDeactivate(accounts: readonly AccountView[], target: Account): AccountView[] {
  if (target.type !== 'smtp') return [];
  return accounts.filter((a) => a.type === 'smtp' && a.active && !sameName(a.name, target.name));
}

/** Switches one account on or off in the config: provisioned ones through the user's choice. */
export function withActive(config: Config, account: AccountView, active: boolean): Config {
  if (account.provisioned) {
    return { ...config, provisionedActive: { ...config.provisionedActive, [account.name.toLowerCase()]: active } };
  }
  return { ...config, accounts: config.accounts.map((a) => (sameName(a.name, account.name) ? { ...a, active } : a)) };
}

/**
 * Applies the one-active-SMTP rule for `target` (already in the config, active): switches off
 * every other active SMTP account and returns their names.
 */
export function enforceOneActiveSmtp(config: Config, views: readonly AccountView[], target: Account): { config: Config; deactivated: string[] } {
  if (!target.active) return { config, deactivated: [] };
  let next = config;
  const others = accountsToDeactivate(views, target);
  for (const other of others) next = withActive(next, other, false);
  return { config: next, deactivated: others.map((a) => a.name) };
}

/** A set of accounts breaks the rule when more than one SMTP account in it is active. */
export function assertOneActiveSmtp(accounts: readonly Account[], where: string): void {
  const active = accounts.filter((a) => a.type === 'smtp' && a.active);
  if (active.length > 1) {
    throw new MailboxError('EVALUE', `${where}: ${active.length} SMTP accounts are active (${active.map((a) => a.name).join(', ')}); only one SMTP account may be active at a time`, {
      field: 'active',
      hint: 'set "active": false on all but one of them',
    });
  }
}

/** Inbound filters guard POP3/IMAP accounts, outbound ones the SMTP account. */
export function directionOf(type: AccountType): Direction {
  return type === 'smtp' ? 'outbound' : 'inbound';
}

export function findFilter<T extends AddressFilter>(filters: readonly T[], name: string): T | undefined {
  return filters.find((f) => sameName(f.name, name));
}

export function requireFilter<T extends AddressFilter>(filters: readonly T[], name: string): T {
  const filter = findFilter(filters, name);
  if (!filter) throw new MailboxError('ENOTFOUND', `no filter named ${shown(name)}`, { hint: 'mailbox filter list shows the filters' });
  return filter;
}

/** An account's filter must exist and face the account's direction. */
export function assertFilterFits(filters: readonly AddressFilter[], account: Account): void {
  if (!account.filter) return;
  const filter = findFilter(filters, account.filter);
  const direction = directionOf(account.type);
  const otherFilter = { field: 'filter', account: account.name, fixes: [{ field: 'filter', value: 'OTHER' }, { field: 'filter', clear: true }] };
  if (!filter) {
    throw new MailboxError('ENOTFOUND', `account ${account.name}: no filter named ${shown(account.filter)}`, {
      ...otherFilter,
      hint: `create the ${direction} filter ${account.filter} first (mailbox filter add), or name another filter`,
    });
  }
  if (filter.direction !== direction) {
    throw new MailboxError('EVALUE', `invalid filter ${shown(filter.name)} for account ${account.name}: it is ${filter.direction}, but ${account.type} accounts take ${direction} filters`, {
      ...otherFilter,
      hint: `name a ${direction} filter`,
    });
  }
}

/** Accounts that name a filter (by its name, case-insensitive). */
export function accountsUsingFilter<T extends Account>(accounts: readonly T[], filterName: string): T[] {
  return accounts.filter((a) => a.filter !== undefined && sameName(a.filter, filterName));
}

/** At most one default filter per direction. */
export function assertOneDefaultPerDirection(filters: readonly AddressFilter[], where: string): void {
  for (const direction of ['inbound', 'outbound'] as const) {
    const defaults = filters.filter((f) => f.direction === direction && f.default);
    if (defaults.length > 1) {
      throw new MailboxError('EVALUE', `${where}: ${defaults.length} ${direction} filters are marked default (${defaults.map((f) => f.name).join(', ')}); only one per direction may be`, {
        field: 'default',
      });
    }
  }
}
