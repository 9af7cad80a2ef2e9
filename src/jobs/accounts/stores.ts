// What the account use cases work on, passed in by the caller: the config store (one transaction
// per change), the administrator's provisioned document, and the secret store (the keychain).
import type { AccountView } from '../../core/account.js';
import { profilesOf, type AccountsDocument, type Config } from '../../core/config.js';
import { profilesInEffect, type OAuthProfile } from '../../core/oauth.js';
import { accountProblems, type Hidden, type Problems } from '../../core/problems.js';
import { accountViews, filterViews, hiddenByProvisioned, type FilterView } from '../../core/rules.js';
import type { ConfigStore } from '../../store/config-store.js';
import type { SecretStore } from '../../store/secrets.js';

export interface AccountStores {
  /** load() and update(change): read-modify-write under a lock, with undo and afterWrite. */
  config: Pick<ConfigStore, 'load' | 'update'>;
  /** The administrator's read-only document (provisioned.json). */
  provisioned: () => Promise<AccountsDocument>;
  secrets: SecretStore;
}

/** The user's config and the provisioned document, read together, and the views over both. */
export interface AccountsSnapshot {
  config: Config;
  provisioned: AccountsDocument;
  accounts: AccountView[];
  filters: FilterView[];
  /** The OAuth 2.0 profiles in effect (the administrator's first). */
  profiles: OAuthProfile[];
  /** The user's accounts and filters a provisioned one of the same name hides. */
  hidden: Hidden;
  /** What is wrong with the active accounts as configured (core/problems.ts), by lower-cased name. */
  problems: Problems;
}

export function snapshotOf(config: Config, provisioned: AccountsDocument): AccountsSnapshot {
  const accounts = accountViews(config, provisioned.accounts);
  const filters = filterViews(config, provisioned.filters);
  const hidden = { accounts: hiddenByProvisioned(config.accounts, provisioned.accounts), filters: hiddenByProvisioned(config.filters, provisioned.filters) };
  const profiles = profilesInEffect(profilesOf(config), profilesOf(provisioned));
  return { config, provisioned, accounts, filters, profiles, hidden, problems: accountProblems({ accounts, filters, hidden, profiles }) };
}

export async function readAccounts(stores: AccountStores): Promise<AccountsSnapshot> {
  const [config, provisioned] = await Promise.all([stores.config.load(), stores.provisioned()]);
  return snapshotOf(config, provisioned);
}
