// Making the user's accounts and filters match a document (export's shape): planned against the
// config as it is under the lock, written in one transaction; keychain entries of pruned accounts
// that nothing names any more are removed after the write. A dry run plans and writes nothing.
import { accountWarnings, sameSecretRef } from '../../core/account.js';
import type { AccountsDocument } from '../../core/config.js';
import { planApply, type ApplyPlan } from '../../core/plan.js';
import { findAccount } from '../../core/rules.js';
import { removeSecrets, type SecretCleanup } from './keychain-cleanup.js';
import type { AccountStores } from './stores.js';

export interface ApplyOptions {
  prune: boolean;
  dryRun: boolean;
  /** The document's name in messages (a path, or <stdin>). */
  source: string;
}

export interface ApplyOutcome {
  plan: ApplyPlan;
  /** About the settings of the accounts the document creates or updates. */
  warnings: string[];
  cleanup: SecretCleanup[];
}

export async function applyDocument(stores: AccountStores, doc: AccountsDocument, options: ApplyOptions): Promise<ApplyOutcome> {
  const provisioned = await stores.provisioned();
  const planOptions = { prune: options.prune, source: options.source };
  let cleanup: SecretCleanup[] = [];
  const plan = options.dryRun
    ? planApply(await stores.config.load(), provisioned, doc, planOptions)
    : await stores.config.update((config) => {
        const p = planApply(config, provisioned, doc, planOptions);
        const owner = (ref: SecretCleanup['ref']) => config.accounts.find((a) => sameSecretRef(a.secret, ref))?.name ?? ref.key;
        return {
          config: p.changed ? p.config : undefined,
          result: p,
          afterWrite: async () => {
            cleanup = await removeSecrets(stores.secrets, p.orphanedSecrets, owner);
          },
        };
      });
  const warnings = plan.accounts.flatMap((entry) => {
    const account = entry.action === 'create' || entry.action === 'update' ? findAccount(doc.accounts, entry.name) : undefined;
    return account ? accountWarnings(account) : [];
  });
  return { plan, warnings, cleanup };
}
