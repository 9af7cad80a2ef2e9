// Saving an added or edited account: validate, test the connection, then store the secret and
// write the config under the lock, keeping one SMTP account active. Nothing is written on failure.
import { accountWarnings, keychainRef, parseAccount, parseName, type Account, type AccountInput, type SecretRef, type TlsTrust } from '../core/account.js';
import { MailboxError } from '../core/errors.js';
import { changedFields } from '../core/plan.js';
import { accountViews, assertEditable, assertFilterFits, assertNameFree, enforceOneActiveSmtp, filterViews, requireAccount, sameName } from '../core/rules.js';
import { checkCaFile } from '../store/ca-file.js';
import { accountJson } from './account-json.js';
import type { SecretChoice } from './account-flags.js';
import { checkConnection } from './connection-check.js';
import type { AccountsSnapshot, Context } from './context.js';
import { removeQuietly, reportDeactivated, sameRef, stillReferenced } from './secret-cleanup.js';

export interface SaveRequest {
  input: AccountInput;
  /** A new secret source; undefined keeps the edited account's own. */
  secret?: SecretChoice;
  /** Edit: the account as it was when the command started. */
  existing?: Account;
  test: boolean;
  snapshot: AccountsSnapshot;
}

/** Fields whose change makes the saved connection test stale. */
const CONNECTION_FIELDS = ['host', 'port', 'security', 'auth', 'user', 'secret', 'tls'];

function refFor(choice: SecretChoice, accountName: string): SecretRef {
  if (choice.kind === 'keychain') return keychainRef(accountName);
  if (choice.kind === 'env') return { kind: 'env', name: choice.name };
  return { kind: 'command', command: choice.command };
}

function isKeychain(ref: SecretRef | undefined): ref is SecretRef & { kind: 'keychain' } {
  return ref?.kind === 'keychain';
}

/** The account the request describes, fully validated against the store; throws before any write. */
async function buildAccount(ctx: Context, req: SaveRequest): Promise<Account> {
  const input: AccountInput = { ...req.input };
  const tls = { ...((input.tls as TlsTrust | undefined) ?? {}) };
  if (tls.ca && tls.ca !== req.existing?.tls.ca) tls.ca = await checkCaFile(tls.ca, ctx.cwd);
  input.tls = tls;
  if (req.secret) input.secret = refFor(req.secret, parseName(input.name));
  const account = parseAccount(input);
  if (!req.existing) assertNameFree(req.snapshot.accounts, account.name);
  assertFilterFits(req.snapshot.filters, account);
  return account;
}

async function secretForTest(ctx: Context, account: Account, choice: SecretChoice | undefined): Promise<string | undefined> {
  if (account.auth === 'none' || !account.secret) return undefined;
  if (choice?.kind === 'keychain') return choice.secret;
  try {
    return await ctx.secrets.resolve(account.secret, account.name);
  } catch (err) {
    if (!(err instanceof MailboxError)) throw err;
    throw new MailboxError(err.code, `${err.message} (needed to test the connection before saving)`, {
      hint: `${err.hint ? `${err.hint}; or ` : ''}save without testing: --no-test`,
      cause: err,
    });
  }
}

/** Validates, tests and saves; prints the outcome; returns the exit code. */
export async function saveAccount(ctx: Context, req: SaveRequest): Promise<number> {
  const account = await buildAccount(ctx, req);
  const existing = req.existing;
  const changes = existing ? changedFields(existing, account) : [];
  if (req.secret?.kind === 'keychain' && !changes.includes('secret')) changes.push('password');
  if (existing && changes.length === 0) {
    ctx.out.info(`account ${account.name}: nothing to change`);
    ctx.out.data({ account: accountJson({ ...account, provisioned: false }), changes, deactivated: [], warnings: [] }, () => '');
    return 0;
  }
  const warnings = accountWarnings(account);
  for (const w of warnings) ctx.out.warn(w);

  const newKeychainSecret = req.secret?.kind === 'keychain' ? req.secret.secret : undefined;
  if (newKeychainSecret !== undefined) {
    const down = await ctx.secrets.probeKeychain();
    if (down) throw new MailboxError(down.code, `${down.message}; nothing was saved`, { hint: down.hint, cause: down });
  }

  const needsTest = req.test && (!existing || changes.some((c) => CONNECTION_FIELDS.includes(c) || c === 'password'));
  if (needsTest) {
    const result = await checkConnection(ctx, account, await secretForTest(ctx, account, req.secret));
    if (!result.ok) {
      ctx.out.info(`account ${account.name} was not saved (run again with --no-test to save it untested)`);
      return result.exitCode;
    }
  }

  const provisioned = req.snapshot.provisioned;
  const { deactivated } = await ctx.config.update(async (cfg) => {
    let next = cfg;
    if (existing) {
      const current = requireAccount(accountViews(cfg, provisioned.accounts), existing.name);
      assertEditable(current, 'edited');
      next = { ...cfg, accounts: cfg.accounts.map((a) => (sameName(a.name, existing.name) ? account : a)) };
    } else {
      assertNameFree(accountViews(cfg, provisioned.accounts), account.name);
      next = { ...cfg, accounts: [...cfg.accounts, account] };
    }
    assertFilterFits(filterViews(cfg, provisioned.filters), account);
    const enforced = enforceOneActiveSmtp(next, accountViews(next, provisioned.accounts), account);

    // The secret goes into the keychain before the config names it; a failed write takes it back.
    const ref = account.secret;
    const storedNew = newKeychainSecret !== undefined && isKeychain(ref);
    if (storedNew) await ctx.secrets.save(ref, newKeychainSecret);
    const hadThisEntry = existing && sameRef(existing.secret, ref);
    const oldEntry = existing && isKeychain(existing.secret) && !sameRef(existing.secret, account.secret) ? existing.secret : undefined;
    return {
      config: enforced.config,
      result: { deactivated: enforced.deactivated },
      undo: storedNew && !hadThisEntry ? () => ctx.secrets.remove(ref) : undefined,
      afterWrite: oldEntry && !stillReferenced(enforced.config.accounts, provisioned.accounts, oldEntry) ? () => removeQuietly(ctx, oldEntry, account.name) : undefined,
    };
  });

  const view = { ...account, provisioned: false };
  const state = account.active ? 'active' : 'inactive';
  if (existing) ctx.out.info(`updated ${account.type} account ${account.name} (${state}): ${changes.join(', ')}`);
  else ctx.out.info(`added ${account.type} account ${account.name} (${state})`);
  reportDeactivated(ctx, deactivated);
  ctx.out.data({ account: accountJson(view), ...(existing ? { changes } : {}), deactivated, warnings }, () => '');
  return 0;
}
