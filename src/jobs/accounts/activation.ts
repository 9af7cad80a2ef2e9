// Switching an account on or off; provisioned ones through the user's choice. Switching an SMTP
// account on switches the other SMTP accounts off.
import type { AccountType } from '../../core/account.js';
import { accountViews, enforceOneActiveSmtp, requireAccount, withActive } from '../../core/rules.js';
import type { AccountStores } from './stores.js';

export interface ActivationOutcome {
  name: string;
  type: AccountType;
  provisioned: boolean;
  active: boolean;
  /** False when it already was so (nothing written). */
  changed: boolean;
  deactivated: string[];
}

export async function setActive(stores: AccountStores, name: string, active: boolean): Promise<ActivationOutcome> {
  const provisioned = (await stores.provisioned()).accounts;
  return stores.config.update((config) => {
    const view = requireAccount(accountViews(config, provisioned), name);
    const outcome: ActivationOutcome = { name: view.name, type: view.type, provisioned: view.provisioned, active, changed: view.active !== active, deactivated: [] };
    // Activating an SMTP account that is already active still switches off others a hand-edited
    // config left active: that is how the two-active-SMTP problem is fixed.
    const next = outcome.changed ? withActive(config, view, active) : config;
    const enforced = enforceOneActiveSmtp(next, accountViews(next, provisioned), { ...view, active });
    outcome.deactivated = enforced.deactivated;
    if (!outcome.changed && enforced.deactivated.length === 0) return { result: outcome };
    return { config: enforced.config, result: outcome };
  });
}
