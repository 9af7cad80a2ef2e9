// Adding and editing an account. The rules are checked against what was read before anything slow
// or lasting happens (the keychain, the connection test), and again, by the same function, inside
// the one transaction against the config as it is then. The new secret goes into the keychain
// before the config names it and is taken back if the write fails; the entry the account no longer
// uses is removed after the write. Nothing here prints or asks: the outcome says what happened.
import {
  orphanedKeychainRefs,
  parseAccount,
  parseName,
  sameSecretRef,
  type Account,
  type AccountInput,
  type AccountView,
  type KeychainRef,
  type TlsTrust,
} from '../../core/account.js';
import { invalid, MailboxError, shown } from '../../core/errors.js';
import { isAddress } from '../../core/validate.js';
import { changedFields } from '../../core/plan.js';
import { accountViews, assertEditable, assertFilterFits, assertNameFree, enforceOneActiveSmtp, requireAccount, sameName } from '../../core/rules.js';
import { checkCaFile } from '../../store/ca-file.js';
import type { SecretStore } from '../../store/secrets.js';
import { removeSecrets, type SecretCleanup } from './keychain-cleanup.js';
import { refFor, type SecretChoice } from './secret-choice.js';
import { weakChoices, type WeakChoice } from './weak-choices.js';
import { readAccounts, snapshotOf, type AccountStores, type AccountsSnapshot } from './stores.js';

/**
 * Tests the account before it is saved, with the secret typed for it (not yet in the keychain) or,
 * when undefined, its own source. `save` false: leave it unsaved, exiting with `exitCode`.
 */
export type ConnectionCheck = (account: Account, secret: string | undefined) => Promise<{ save: boolean; exitCode: number }>;

export interface SaveRequest {
  /** The account as entered (flags, wizard answers), not yet validated. */
  input: AccountInput;
  /** A new secret source; absent keeps the edited account's own. */
  secret?: SecretChoice;
  /** Absent: saved without a connection test. */
  check?: ConnectionCheck;
  /** The folder a relative CA file is resolved against. */
  cwd: string;
}

export interface EditRequest extends SaveRequest {
  /** The account as read when the edit began, which the input was built on. */
  existing: Account;
}

export interface SaveOutcome {
  status: 'saved' | 'unchanged' | 'test-failed';
  /** The account as saved (or as it would have been). */
  account: AccountView;
  /** Edit: the fields that changed ("password" for a new secret under the same keychain entry). */
  changes: string[];
  /** SMTP accounts switched off: one SMTP account is active at a time. */
  deactivated: string[];
  /** Settings weaker than the default chosen now (the CLI warns about them). */
  weakChoices: WeakChoice[];
  /** The keychain entry the edited account no longer uses. */
  cleanup: SecretCleanup[];
  /** test-failed: the test's exit code. */
  exitCode: number;
}

/** Changes that make the last connection test stale. */
const TESTED_FIELDS = ['host', 'port', 'security', 'auth', 'authMechanism', 'user', 'secret', 'password', 'tls'];

/** The account an edit may change: it exists and is not provisioned. */
export function accountToEdit(accounts: readonly AccountView[], name: string, action: 'edited' | 'removed' = 'edited'): Account {
  const view = requireAccount(accounts, name);
  assertEditable(view, action);
  const { provisioned: _provisioned, ...account } = view;
  return account;
}

export function addAccount(stores: AccountStores, request: SaveRequest): Promise<SaveOutcome> {
  return save(stores, request, undefined);
}

export function editAccount(stores: AccountStores, request: EditRequest): Promise<SaveOutcome> {
  return save(stores, request, request.existing);
}

/** The rules a saved account must keep, checked against one reading of the accounts. */
function admit(snapshot: AccountsSnapshot, account: Account, existing: Account | undefined): void {
  if (existing) accountToEdit(snapshot.accounts, existing.name);
  else assertNameFree(snapshot.accounts, account.name);
  assertFilterFits(snapshot.filters, account);
  if (!account.oauth) return;
  const profile = snapshot.profiles.find((p) => sameName(p.name, account.oauth!));
  if (!profile) throw new MailboxError('EVALUE', `invalid oauth ${shown(account.oauth)}: no OAuth profile has that name`, { field: 'oauth', hint: 'mailbox oauth list shows the profiles; mailbox oauth add creates one' });
  // Microsoft and Google log in as the mailbox: the user is its address (a token names it too).
  if (profile.provider !== 'generic' && !isAddress(account.user ?? '')) {
    throw invalid('user', account.user, `the mailbox address (me@example.com): ${profile.provider} accounts log in with OAuth 2.0 as the address`);
  }
}

async function buildAccount(request: SaveRequest, existing: Account | undefined): Promise<Account> {
  const input: AccountInput = { ...request.input };
  const tls = { ...((input.tls as TlsTrust | undefined) ?? {}) };
  if (tls.ca && tls.ca !== existing?.tls.ca) tls.ca = await checkCaFile(tls.ca, request.cwd);
  input.tls = tls;
  if (request.secret) input.secret = refFor(request.secret, parseName(input.name));
  return parseAccount(input);
}

async function assertKeychainAnswers(secrets: SecretStore): Promise<void> {
  const down = await secrets.probeKeychain();
  if (down) throw new MailboxError(down.code, `${down.message}; nothing was saved`, { hint: down.hint, fixes: down.fixes, cause: down });
}

/** Stores a secret and returns how to take it back: the previous one restored, or the entry removed. */
async function storeSecret(secrets: SecretStore, ref: KeychainRef, secret: string, account: string): Promise<() => Promise<unknown>> {
  const previous = await secrets.resolve(ref, account).catch(() => undefined);
  await secrets.save(ref, secret);
  return previous === undefined ? () => secrets.remove(ref) : () => secrets.save(ref, previous);
}

async function save(stores: AccountStores, request: SaveRequest, existing: Account | undefined): Promise<SaveOutcome> {
  const snapshot = await readAccounts(stores);
  const account = await buildAccount(request, existing);
  admit(snapshot, account, existing);
  const newSecret = request.secret?.kind === 'keychain' ? request.secret.secret : undefined;
  const changes = existing ? changedFields(existing, account) : [];
  if (newSecret !== undefined && !changes.includes('secret')) changes.push('password');
  const outcome: SaveOutcome = {
    status: 'unchanged',
    account: { ...account, provisioned: false },
    changes,
    deactivated: [],
    weakChoices: weakChoices(account, existing),
    cleanup: [],
    exitCode: 0,
  };
  if (existing && changes.length === 0) return outcome;

  if (newSecret !== undefined) await assertKeychainAnswers(stores.secrets);
  if (request.check && (!existing || changes.some((c) => TESTED_FIELDS.includes(c)))) {
    const verdict = await request.check(account, newSecret);
    if (!verdict.save) return { ...outcome, status: 'test-failed', exitCode: verdict.exitCode };
  }

  const provisioned = snapshot.provisioned.accounts;
  await stores.config.update(async (config) => {
    admit(snapshotOf(config, snapshot.provisioned), account, existing);
    const accounts = existing ? config.accounts.map((a) => (sameName(a.name, existing.name) ? account : a)) : [...config.accounts, account];
    const next = { ...config, accounts };
    const enforced = enforceOneActiveSmtp(next, accountViews(next, provisioned), account);
    outcome.deactivated = enforced.deactivated;
    const ref = account.secret;
    const undo = newSecret !== undefined && ref?.kind === 'keychain' ? await storeSecret(stores.secrets, ref, newSecret, account.name) : undefined;
    const orphaned = existing && !sameSecretRef(existing.secret, ref) ? orphanedKeychainRefs([existing], [...enforced.config.accounts, ...provisioned]) : [];
    return {
      config: enforced.config,
      result: undefined,
      undo,
      afterWrite: async () => {
        outcome.cleanup = await removeSecrets(stores.secrets, orphaned, () => account.name);
      },
    };
  });
  outcome.status = 'saved';
  return outcome;
}
