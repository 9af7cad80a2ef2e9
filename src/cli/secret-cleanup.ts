// After a write: keychain entries no account names any more are removed (remove, edit, apply --prune),
// and switched-off SMTP accounts are named.
import type { Account, SecretRef } from '../core/account.js';
import type { Context } from './context.js';

export function sameRef(a: SecretRef | undefined, b: SecretRef | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function stillReferenced(accounts: readonly Account[], provisioned: readonly Account[], ref: SecretRef & { kind: 'keychain' }): boolean {
  return [...accounts, ...provisioned].some((a) => sameRef(a.secret, ref));
}

/** Removes a keychain entry after the config no longer names it; a failure is a warning, not an error. */
export async function removeQuietly(ctx: Context, ref: SecretRef & { kind: 'keychain' }, account: string): Promise<boolean> {
  try {
    await ctx.secrets.remove(ref);
    return true;
  } catch (err) {
    ctx.out.warn(`account ${account}: could not remove keychain entry ${ref.service}/${ref.key} (${(err as Error).message}); remove it by hand, e.g. secret-tool clear service ${ref.service} username ${ref.key}`);
    return false;
  }
}

export function reportDeactivated(ctx: Context, names: readonly string[]): void {
  for (const name of names) ctx.out.info(`deactivated smtp account ${name} (only one SMTP account is active at a time)`);
}
