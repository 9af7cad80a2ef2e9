// Making the user's accounts and filters match a document (export's shape): planned against the
// config as it is under the lock, written in one transaction; keychain entries of pruned accounts
// that nothing names any more are removed after the write. A dry run plans and writes nothing.
import { sameSecretRef, type Account } from '../../core/account.js';
import type { AccountsDocument } from '../../core/config.js';
import { planApply, type ApplyPlan } from '../../core/plan.js';
import { findAccount } from '../../core/rules.js';
import { removeSecrets, type SecretCleanup } from './keychain-cleanup.js';
import type { AccountStores } from './stores.js';
import { weakChoices, type WeakChoice } from './weak-choices.js';

export interface ApplyOptions {
  prune: boolean;
  dryRun: boolean;
  /** The document's name in messages (a path, or <stdin>). */
  source: string;
}

export interface ApplyOutcome {
  plan: ApplyPlan;
  /** Weak settings the document brings in (none for a dry run: nothing is chosen then). */
  weakChoices: WeakChoice[];
  cleanup: SecretCleanup[];
}

export async function applyDocument(stores: AccountStores, doc: AccountsDocument, options: ApplyOptions): Promise<ApplyOutcome> {
  const provisioned = await stores.provisioned();
  const planOptions = { prune: options.prune, source: options.source };
  let cleanup: SecretCleanup[] = [];
  let weak: WeakChoice[] = [];
  const plan = options.dryRun
    ? planApply(await stores.config.load(), provisioned, doc, planOptions)
    : await stores.config.update((config) => {
        const p = planApply(config, provisioned, doc, planOptions);
        weak = chosenWeak(p, config.accounts, doc.accounts);
        const owner = (ref: SecretCleanup['ref']) => config.accounts.find((a) => sameSecretRef(a.secret, ref))?.name ?? ref.key;
        return {
          config: p.changed ? p.config : undefined,
          result: p,
          afterWrite: async () => {
            cleanup = await removeSecrets(stores.secrets, p.orphanedSecrets, owner);
          },
        };
      });
  return { plan, weakChoices: weak, cleanup };
}

/** The weak settings the created and updated accounts get that they did not have. */
function chosenWeak(plan: ApplyPlan, current: readonly Account[], wanted: readonly Account[]): WeakChoice[] {
  return plan.accounts.flatMap((entry) => {
    const account = entry.action === 'create' || entry.action === 'update' ? findAccount(wanted, entry.name) : undefined;
    return account ? weakChoices(account, findAccount(current, entry.name)) : [];
  });
}
