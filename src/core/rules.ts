// The rules admins know: one active SMTP account, provisioned accounts only switched on and off.
import type { Account, AccountView } from './account.js';
import { MailboxError } from './errors.js';

export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export function findAccount<T extends Account>(accounts: readonly T[], name: string): T | undefined {
  return accounts.find((a) => sameName(a.name, name));
}

export function requireAccount<T extends Account>(accounts: readonly T[], name: string): T {
  const account = findAccount(accounts, name);
  if (!account) {
    throw new MailboxError('ENOTFOUND', `no account named ${JSON.stringify(name)}`, { hint: 'mailbox list shows the accounts' });
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

/**
 * Which other accounts must be switched off when `target` becomes active: only one SMTP account
 * may be active at a time; incoming accounts are independent.
 */
export function accountsToDeactivate(accounts: readonly AccountView[], target: Account): AccountView[] {
  if (target.type !== 'smtp') return [];
  return accounts.filter((a) => a.type === 'smtp' && a.active && !sameName(a.name, target.name));
}
