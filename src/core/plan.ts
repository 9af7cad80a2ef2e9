// `mailbox apply`: the plan that makes the user's store match a document, computed without I/O.
import { orphanedKeychainRefs, sameSecretRef, type AccountView, type KeychainRef } from './account.js';
import { profilesOf, withProfiles, withSettings, type AccountsDocument, type Config } from './config.js';
import { SETTING_KEYS, type SettingsMap } from './settings.js';
import { profilesInEffect } from './oauth.js';
import { isAddress } from './validate.js';
import { invalid, MailboxError } from './errors.js';
import { accountViews, assertFilterFits, assertOneActiveSmtp, assertOneDefaultPerDirection, enforceOneActiveSmtp, filterViews, nameSet, sameName } from './rules.js';

export type PlanAction = 'create' | 'update' | 'unchanged' | 'remove' | 'skip';

export interface PlanEntry {
  name: string;
  action: PlanAction;
  /** Top-level fields that differ (update only). */
  changes: string[];
  /** Why an entry is skipped or updated although the document did not ask for it. */
  reason?: string;
}

export interface ApplyPlan {
  accounts: PlanEntry[];
  filters: PlanEntry[];
  /** OAuth 2.0 profiles (empty when neither the store nor the document has any). */
  oauthProfiles: PlanEntry[];
  /** Operating settings by key (empty when the document has no `settings`). */
  settings: PlanEntry[];
  /** True when writing `config` changes anything. */
  changed: boolean;
  config: Config;
  /** Keychain entries no account refers to any more: remove them after the write. */
  orphanedSecrets: KeychainRef[];
}

/** JSON with sorted keys and no undefined: equal values give equal text. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    return v;
  });
}

export function changedFields(before: object, after: object): string[] {
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.filter((k) => canonical(a[k]) !== canonical(b[k])).sort();
}

interface Named {
  name: string;
}

/** Entries by lower-cased name: the lookups below stay linear on a store of thousands. */
function byName<T extends Named>(items: readonly T[]): Map<string, T> {
  return new Map(items.map((i) => [i.name.toLowerCase(), i]));
}

/** Merges the document's entries over the current ones; returns the new list and what happens to each. */
function mergeEntries<T extends Named>(
  current: readonly T[],
  wanted: readonly T[],
  provisioned: readonly Named[],
  prune: boolean,
): { next: T[]; entries: PlanEntry[]; removed: T[] } {
  const entries: PlanEntry[] = [];
  const next: T[] = [];
  const removed: T[] = [];
  const wantedByName = byName(wanted);
  const currentNames = nameSet(current);
  const provisionedNames = nameSet(provisioned);
  for (const item of current) {
    const replacement = wantedByName.get(item.name.toLowerCase());
    if (replacement) {
      const changes = changedFields(item, replacement);
      entries.push({ name: replacement.name, action: changes.length ? 'update' : 'unchanged', changes });
      next.push(replacement);
    } else if (prune) {
      entries.push({ name: item.name, action: 'remove', changes: [] });
      removed.push(item);
    } else {
      next.push(item);
    }
  }
  for (const item of wanted) {
    if (currentNames.has(item.name.toLowerCase())) continue;
    if (provisionedNames.has(item.name.toLowerCase())) {
      entries.push({ name: item.name, action: 'skip', changes: [], reason: 'provisioned by the administrator: apply never changes it' });
      continue;
    }
    entries.push({ name: item.name, action: 'create', changes: [] });
    next.push(item);
  }
  return { next, entries, removed };
}

/**
 * The document's settings over the store's, key by key; with prune, keys the document leaves out are
 * unset. A document without `settings` leaves them all as they are.
 */
function mergeSettings(current: SettingsMap | undefined, wanted: SettingsMap | undefined, prune: boolean): { next: SettingsMap | undefined; entries: PlanEntry[] } {
  if (wanted === undefined) return { next: current, entries: [] };
  const next: SettingsMap = prune ? {} : { ...current };
  const entries: PlanEntry[] = [];
  for (const key of SETTING_KEYS) {
    const before = current?.[key];
    const after = wanted[key] ?? (prune ? undefined : before);
    if (after !== undefined) next[key] = after;
    if (before === after) {
      if (before !== undefined) entries.push({ name: key, action: 'unchanged', changes: [] });
    } else entries.push({ name: key, action: after === undefined ? 'remove' : before === undefined ? 'create' : 'update', changes: after !== undefined && before !== undefined ? ['value'] : [] });
  }
  return { next, entries };
}

/**
 * Plans `apply`: validates the document against the store as a whole (nothing is written when
 * this throws), never touches provisioned entries, and keeps one SMTP account active at most.
 */
export function planApply(current: Config, provisioned: AccountsDocument, doc: AccountsDocument, options: { prune: boolean; source: string }): ApplyPlan {
  const { source } = options;
  const provisionedNames = nameSet(provisioned.accounts);
  const wantedAccounts = doc.accounts.filter((a) => !provisionedNames.has(a.name.toLowerCase()));
  assertOneActiveSmtp(wantedAccounts, source);

  const filters = mergeEntries(current.filters, doc.filters, provisioned.filters, options.prune);
  const accounts = mergeEntries(current.accounts, doc.accounts, provisioned.accounts, options.prune);
  const profiles = mergeEntries(profilesOf(current), profilesOf(doc), profilesOf(provisioned), options.prune);
  const settings = mergeSettings(current.settings, doc.settings, options.prune);
  let config: Config = withSettings(withProfiles({ ...current, accounts: accounts.next, filters: filters.next }, profiles.next), settings.next);

  // A default filter in the document takes over its direction from the store's, as `filter add --default` does.
  const docFilters = nameSet(doc.filters);
  for (const wanted of doc.filters.filter((f) => f.default)) {
    config = {
      ...config,
      filters: config.filters.map((f) => {
        if (f.direction !== wanted.direction || !f.default || docFilters.has(f.name.toLowerCase())) return f;
        const reason = `no longer the default: ${wanted.name} is the default ${wanted.direction} filter`;
        const entry = filters.entries.find((e) => sameName(e.name, f.name));
        if (entry) Object.assign(entry, { action: 'update', changes: ['default'], reason });
        else filters.entries.push({ name: f.name, action: 'update', changes: ['default'], reason });
        return { ...f, default: false };
      }),
    };
  }

  const allFilters = filterViews(config, provisioned.filters);
  assertOneDefaultPerDirection(allFilters, source);
  const docIndex = new Map(doc.accounts.map((a, i) => [a.name.toLowerCase(), i]));
  const allProfiles = new Map(profilesInEffect(profilesOf(config), profilesOf(provisioned)).map((p) => [p.name.toLowerCase(), p]));
  for (const account of config.accounts) {
    try {
      assertFilterFits(allFilters, account);
      const profile = account.oauth ? allProfiles.get(account.oauth.toLowerCase()) : undefined;
      if (account.oauth && !profile) {
        throw new MailboxError('EVALUE', `the OAuth profile ${account.oauth} does not exist`, { field: 'oauth', hint: 'add the profile to the file (oauthProfiles), or name another one' });
      }
      if (profile && profile.provider !== 'generic' && !isAddress(account.user ?? '')) {
        throw invalid('user', account.user, `the mailbox address (me@example.com): ${profile.provider} accounts log in with OAuth 2.0 as the address`);
      }
    } catch (err) {
      if (!(err instanceof MailboxError)) throw err;
      const index = docIndex.get(account.name.toLowerCase()) ?? -1;
      const where = index >= 0 ? `accounts[${index}] (${account.name})` : `account ${account.name} (not in the file)`;
      throw new MailboxError('EVALUE', `${source}: ${where}: ${err.message}`, { field: err.field ?? 'filter', hint: err.hint });
    }
  }

  // The document's active SMTP account wins over the store's, as `activate` would.
  const activeSmtp = wantedAccounts.find((a) => a.type === 'smtp' && a.active);
  if (activeSmtp) {
    const views: AccountView[] = accountViews(config, provisioned.accounts);
    const enforced = enforceOneActiveSmtp(config, views, activeSmtp);
    config = enforced.config;
    for (const name of enforced.deactivated) {
      const entry = accounts.entries.find((e) => sameName(e.name, name));
      const reason = `switched off: ${activeSmtp.name} is the active SMTP account`;
      if (!entry) accounts.entries.push({ name, action: 'update', changes: ['active'], reason });
      else if (entry.action === 'unchanged') Object.assign(entry, { action: 'update', changes: ['active'], reason });
    }
  }

  const orphanedSecrets = orphanedKeychainRefs(current.accounts, [...config.accounts, ...provisioned.accounts]);
  // A pruned profile's client secret typed into the keychain, when no remaining profile names it.
  const named = [...profilesOf(config), ...profilesOf(provisioned)].map((p) => p.clientSecret);
  for (const { clientSecret } of profiles.removed) {
    if (clientSecret?.kind === 'keychain' && !named.some((ref) => sameSecretRef(ref, clientSecret))) orphanedSecrets.push(clientSecret);
  }

  const all = [...accounts.entries, ...filters.entries, ...profiles.entries, ...settings.entries];
  return {
    accounts: accounts.entries,
    filters: filters.entries,
    oauthProfiles: profiles.entries,
    settings: settings.entries,
    changed: all.some((e) => e.action !== 'unchanged' && e.action !== 'skip'),
    config,
    orphanedSecrets,
  };
}
