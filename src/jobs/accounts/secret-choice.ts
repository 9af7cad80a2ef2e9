// How the user chose to supply an account's secret. The keychain choice carries the secret itself,
// to be stored before the config names it; the others are references resolved at use time.
import { keychainRef, type SecretRef } from '../../core/account.js';

export type SecretChoice = { kind: 'keychain'; secret: string } | { kind: 'env'; name: string } | { kind: 'command'; command: string };

/** The reference the config keeps for a choice. */
export function refFor(choice: SecretChoice, accountName: string): SecretRef {
  if (choice.kind === 'keychain') return keychainRef(accountName);
  if (choice.kind === 'env') return { kind: 'env', name: choice.name };
  return { kind: 'command', command: choice.command };
}
