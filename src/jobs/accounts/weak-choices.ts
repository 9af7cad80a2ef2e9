// Settings weaker than the default (TLS from the first byte, a verified certificate) that the user
// has just chosen: what add, edit and apply tell the admin about. Said when the choice is made
// (a new account, or the setting changed), not on every later write of an account that has it.
import type { Account } from '../../core/account.js';

export type WeakChoice = { account: string; field: 'security'; value: 'starttls' | 'none' } | { account: string; field: 'insecure' };

function weakSettings(account: Account): WeakChoice[] {
  const choices: WeakChoice[] = [];
  if (account.security !== 'tls') choices.push({ account: account.name, field: 'security', value: account.security });
  if (account.tls.insecure) choices.push({ account: account.name, field: 'insecure' });
  return choices;
}

/** The weak settings of `account` that `before` (the account as it was; none for a new one) lacked. */
export function weakChoices(account: Account, before?: Account): WeakChoice[] {
  const had = before ? weakSettings(before) : [];
  return weakSettings(account).filter((c) => !had.some((h) => h.field === c.field && (h.field === 'insecure' || (c.field === 'security' && h.value === c.value))));
}
