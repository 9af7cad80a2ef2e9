// What the account use cases report, as the CLI prints it on stderr: switched-off SMTP accounts and
// keychain entries left behind.
import type { SecretCleanup } from '../jobs/accounts/keychain-cleanup.js';
import type { Printer } from './printer.js';

export function reportDeactivated(out: Printer, names: readonly string[]): void {
  for (const name of names) out.info(`deactivated smtp account ${name} (only one SMTP account is active at a time)`);
}

/** A keychain entry that could not be removed is a warning: the change itself is done. */
export function reportCleanup(out: Printer, cleanup: readonly SecretCleanup[]): void {
  for (const c of cleanup) {
    if (c.removed) continue;
    const { service, key } = c.ref;
    out.warn(`account ${c.account}: could not remove keychain entry ${service}/${key} (${c.error}); remove it by hand, e.g. secret-tool clear service ${service} username ${key}`);
  }
}
