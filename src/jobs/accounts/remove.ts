// Removing an account, and the keychain entry no other account names, in one transaction.
import { orphanedKeychainRefs, type AccountType } from '../../core/account.js';
import { accountViews, sameName } from '../../core/rules.js';
import { removeSecrets, type SecretCleanup } from './keychain-cleanup.js';
import { accountToEdit } from './save.js';
import type { AccountStores } from './stores.js';

export interface RemoveOutcome {
  name: string;
  type: AccountType;
  /** Its keychain entry; null when it had none of its own. */
  cleanup: SecretCleanup | null;
}

export async function removeAccount(stores: AccountStores, name: string): Promise<RemoveOutcome> {
  const provisioned = (await stores.provisioned()).accounts;
  return stores.config.update((config) => {
    const account = accountToEdit(accountViews(config, provisioned), name, 'removed');
    const accounts = config.accounts.filter((a) => !sameName(a.name, account.name));
    const orphaned = orphanedKeychainRefs([account], [...accounts, ...provisioned]);
    const outcome: RemoveOutcome = { name: account.name, type: account.type, cleanup: null };
    return {
      config: { ...config, accounts },
      result: outcome,
      afterWrite: async () => {
        [outcome.cleanup = null] = await removeSecrets(stores.secrets, orphaned, () => account.name);
      },
    };
  });
}
