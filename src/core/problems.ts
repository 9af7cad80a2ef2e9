// What is wrong with the accounts as configured, when config.json or provisioned.json was changed by
// hand or by the administrator: a filter an account names that does not exist (or faces the wrong
// way), an SMTP account with nothing to send from, two active SMTP accounts, a name used by a user's
// account and a provisioned one. None of it is resolved silently: each is a configuration error (78)
// of the accounts it concerns, which `run` does not read or send with (fail closed: never "no filter",
// never "the first SMTP account"), and which `list`, `status` and `test` report. The other accounts go on.
// Only active accounts are checked: an inactive one is never read or sent with, and switching it off is
// how a user silences a provisioned account's problem that only the administrator can fix.
import { missingFrom, type Account, type AccountView } from './account.js';
import { MailboxError } from './errors.js';
import type { AddressFilter } from './filter.js';
import { profileOf, type OAuthProfile } from './oauth.js';
import { directionOf, nameSet } from './rules.js';

/** The user's entries hidden by a provisioned one of the same name (see rules.hiddenByProvisioned). */
export interface Hidden {
  accounts: readonly Account[];
  filters: readonly AddressFilter[];
}

export interface ProblemInput {
  /** The accounts in effect (provisioned ones and the user's, as views). */
  accounts: readonly AccountView[];
  /** The filters in effect. */
  filters: readonly AddressFilter[];
  hidden?: Hidden;
  /** The OAuth 2.0 profiles in effect; absent: not checked. */
  profiles?: readonly OAuthProfile[];
}

/** Accounts by lower-cased name, each with the first problem found (fix it, and the next one shows). */
export type Problems = ReadonlyMap<string, MailboxError>;

function problem(account: string, message: string, hint: string, fixes?: MailboxError['fixes'], field?: string): MailboxError {
  return new MailboxError('ECONFIG', message, { account, hint, fixes, field });
}

type FilteredAccount = Pick<AccountView, 'name' | 'type' | 'filter'> & { provisioned?: boolean };

function filterProblem(account: FilteredAccount, filters: ReadonlyMap<string, AddressFilter>, hiddenFilters: ReadonlySet<string>): MailboxError | undefined {
  if (!account.filter) return undefined;
  const direction = directionOf(account.type);
  const what = account.type === 'smtp' ? 'nothing is sent through it' : 'nothing is read from it';
  const fixes = [{ field: 'filter', value: 'OTHER' }, { field: 'filter', clear: true }];
  const key = account.filter.toLowerCase();
  if (!account.provisioned && hiddenFilters.has(key)) {
    return problem(
      account.name,
      `account ${account.name} names the filter ${account.filter}, but a provisioned filter has that name too and hides yours: ${what} until the name is unambiguous`,
      'rename your filter in config.json (mailbox export shows it), or name another filter',
      fixes,
      'filter',
    );
  }
  const filter = filters.get(key);
  if (!filter) {
    return problem(
      account.name,
      `account ${account.name} names the filter ${account.filter}, which does not exist: ${what} until it does (a missing filter never means "no filter")`,
      `create the ${direction} filter ${account.filter} (mailbox filter add), or name another filter`,
      fixes,
      'filter',
    );
  }
  if (filter.direction !== direction) {
    return problem(
      account.name,
      `account ${account.name} names the filter ${filter.name}, which is ${filter.direction}, but ${account.type} accounts take ${direction} filters: ${what} until it names a ${direction} one`,
      `name a ${direction} filter`,
      fixes,
      'filter',
    );
  }
  return undefined;
}

/**
 * The filter that applies to an account: the one it names, else the default of its direction, else
 * none. Fails closed: a filter it names that is missing or faces the wrong way throws the account's
 * configuration error, never "no filter".
 */
export function filterOf(filters: readonly AddressFilter[], account: FilteredAccount): AddressFilter | undefined {
  const direction = directionOf(account.type);
  if (!account.filter) return filters.find((f) => f.direction === direction && f.default);
  const byName = new Map(filters.map((f) => [f.name.toLowerCase(), f]));
  const wrong = filterProblem(account, byName, new Set());
  if (wrong) throw wrong;
  return byName.get(account.filter.toLowerCase());
}

/** An account that names an OAuth profile that does not exist: it cannot get a token. */
function profileProblem(profiles: readonly OAuthProfile[] | undefined, account: Account): MailboxError | undefined {
  if (!profiles) return undefined;
  try {
    profileOf(profiles, account);
    return undefined;
  } catch (err) {
    return err as MailboxError;
  }
}

/** A provisioned account is not the user's to edit: its problem is for the administrator to fix. */
function administrators(error: MailboxError): MailboxError {
  return new MailboxError(error.code, `${error.message} (a provisioned account)`, {
    account: error.account,
    field: error.field,
    hint: 'provisioned.json is the administrator\'s to fix; until then, mailbox deactivate NAME stops this report',
  });
}

/** Every problem of the accounts as configured (see the top of this file). */
export function accountProblems(input: ProblemInput): Problems {
  const problems = new Map<string, MailboxError>();
  const add = (name: string, error: MailboxError) => {
    if (!problems.has(name.toLowerCase())) problems.set(name.toLowerCase(), error);
  };

  // A name two accounts have: neither is used, as both would share its seen state, status and mail.
  const views = new Map(input.accounts.map((a) => [a.name.toLowerCase(), a]));
  for (const hidden of input.hidden?.accounts ?? []) {
    if (!hidden.active && !views.get(hidden.name.toLowerCase())?.active) continue;
    add(
      hidden.name,
      problem(
        hidden.name,
        `account ${hidden.name}: your account in config.json and a provisioned account have this name (names are case-insensitive): neither is read or sent with until one is renamed`,
        'rename yours in config.json (mailbox export shows it, mailbox apply --prune takes the renamed file), or ask the administrator to rename theirs',
        undefined,
        'name',
      ),
    );
  }

  const filters = new Map(input.filters.map((f) => [f.name.toLowerCase(), f]));
  const hiddenFilters = nameSet(input.hidden?.filters ?? []);
  for (const account of input.accounts) {
    if (!account.active) continue;
    const noFrom = missingFrom(account);
    const found =
      filterProblem(account, filters, hiddenFilters) ??
      profileProblem(input.profiles, account) ??
      (noFrom && problem(account.name, `${noFrom.message}: nothing is sent with it until it has one`, noFrom.hint!, noFrom.fixes, 'from'));
    if (found) add(account.name, account.provisioned ? administrators(found) : found);
  }

  const activeSmtp = input.accounts.filter((a) => a.type === 'smtp' && a.active);
  if (activeSmtp.length > 1) {
    const names = activeSmtp.map((a) => a.name).join(', ');
    for (const account of activeSmtp) {
      add(
        account.name,
        problem(
          account.name,
          `${activeSmtp.length} SMTP accounts are active (${names}), but only one may be: nothing is sent until one is left`,
          `choose the one to send with: mailbox activate NAME switches the others off (or mailbox deactivate NAME)`,
          undefined,
          'active',
        ),
      );
    }
  }
  return problems;
}
