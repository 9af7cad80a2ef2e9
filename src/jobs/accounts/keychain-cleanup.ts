// Keychain entries no account names any more (after remove, edit, apply --prune) are removed once
// the config is written. A failure there is reported, not thrown: the change itself is done.
import type { KeychainRef } from '../../core/account.js';
import type { SecretStore } from '../../store/secrets.js';

/** What became of one keychain entry the change left without an account. */
export interface SecretCleanup {
  ref: KeychainRef;
  /** The account the entry belonged to. */
  account: string;
  removed: boolean;
  /** Why it could not be removed (it is still in the keychain). */
  error?: string;
}

export async function removeSecrets(secrets: SecretStore, refs: readonly KeychainRef[], account: (ref: KeychainRef) => string): Promise<SecretCleanup[]> {
  const done: SecretCleanup[] = [];
  for (const ref of refs) {
    try {
      await secrets.remove(ref);
      done.push({ ref, account: account(ref), removed: true });
    } catch (err) {
      done.push({ ref, account: account(ref), removed: false, error: (err as Error).message });
    }
  }
  return done;
}
