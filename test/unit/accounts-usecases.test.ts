// The account use cases (src/jobs/accounts) on an in-memory config store and keychain: one
// transaction each, the rules checked before the slow test and again under the lock, the keychain
// written before the config and taken back when the write fails. The e2e tests run the same paths
// against the real files and a real Secret Service.
import { describe, expect, it, vi } from 'vitest';
import { parseAccount, type Account, type AccountInput } from '../../src/core/account.js';
import { applyDocument } from '../../src/jobs/accounts/apply.js';
import { setActive } from '../../src/jobs/accounts/activation.js';
import { addFilter, editFilter, removeFilter } from '../../src/jobs/accounts/filters.js';
import { removeAccount } from '../../src/jobs/accounts/remove.js';
import { accountToEdit, addAccount, editAccount, type ConnectionCheck } from '../../src/jobs/accounts/save.js';
import { readAccounts } from '../../src/jobs/accounts/stores.js';
import { memoryAccounts, type MemoryAccounts } from '../helpers/memory-accounts.js';

const imap = (name: string, extra: AccountInput = {}): AccountInput => ({ name, type: 'imap', host: 'imap.example.com', user: 'me', ...extra });
const smtp = (name: string, extra: AccountInput = {}): AccountInput => ({ name, type: 'smtp', host: 'smtp.example.com', ...extra });
const envPw = { kind: 'env', name: 'PW' } as const;
const passes: ConnectionCheck = async () => ({ save: true, exitCode: 0 });

async function seeded(...accounts: AccountInput[]): Promise<MemoryAccounts> {
  const stores = memoryAccounts();
  for (const input of accounts) await addAccount(stores, { input, secret: envPw, cwd: '/' });
  stores.events.length = 0;
  return stores;
}

async function existing(stores: MemoryAccounts, name: string): Promise<Account> {
  return accountToEdit((await readAccounts(stores)).accounts, name);
}

const names = (stores: MemoryAccounts) => stores.config.config.accounts.map((a) => a.name);

describe('addAccount', () => {
  it('validates, tests with the typed secret, stores it in the keychain before the config names it', async () => {
    const stores = memoryAccounts();
    const check = vi.fn(passes);
    const outcome = await addAccount(stores, { input: imap('Work', { security: 'starttls' }), secret: { kind: 'keychain', secret: 's3cret' }, check, cwd: '/' });
    expect(outcome).toMatchObject({ status: 'saved', account: { name: 'Work', port: 143, secret: { kind: 'keychain', key: 'work' }, provisioned: false }, deactivated: [] });
    expect(outcome.weakChoices).toEqual([{ account: 'Work', field: 'security', value: 'starttls' }]);
    expect(check).toHaveBeenCalledWith(expect.objectContaining({ name: 'Work' }), 's3cret');
    expect(stores.events).toEqual(['keychain save mailbox/work', 'config write']);
    expect(stores.secrets.keychain.get('mailbox/work')).toBe('s3cret');
    expect(JSON.stringify(stores.config.config)).not.toContain('s3cret');
  });

  it('a failed test saves nothing and touches no keychain; without a check nothing is tested', async () => {
    const stores = memoryAccounts();
    const failed = await addAccount(stores, { input: imap('a'), secret: { kind: 'keychain', secret: 'x' }, check: async () => ({ save: false, exitCode: 77 }), cwd: '/' });
    expect(failed).toMatchObject({ status: 'test-failed', exitCode: 77 });
    expect(stores.events).toEqual([]);
    expect(stores.config.writes).toBe(0);
    expect((await addAccount(stores, { input: imap('a'), secret: envPw, cwd: '/' })).status).toBe('saved');
  });

  it('a taken name (any case) is refused before the test, naming the field to change', async () => {
    const stores = await seeded(imap('work'));
    const check = vi.fn(passes);
    await expect(addAccount(stores, { input: imap('WORK'), secret: envPw, check, cwd: '/' })).rejects.toMatchObject({
      exitCode: 65,
      field: 'name',
      fixes: [{ field: 'name', value: 'OTHER' }],
      hint: expect.stringContaining('mailbox edit work'),
    });
    expect(check).not.toHaveBeenCalled();
  });

  it('a name a provisioned account has: the hint does not suggest editing it', async () => {
    const stores = memoryAccounts({ accounts: [parseAccount({ ...smtp('corp') })] });
    const err = await addAccount(stores, { input: smtp('Corp'), cwd: '/' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 65, hint: 'choose another name' });
  });

  it('the rules are checked again under the lock: a name taken while the test ran is refused, the keychain entry not written', async () => {
    const stores = memoryAccounts();
    const concurrent: ConnectionCheck = async () => {
      await addAccount(memoryAccountsSharing(stores), { input: imap('race'), secret: envPw, cwd: '/' });
      return { save: true, exitCode: 0 };
    };
    await expect(addAccount(stores, { input: imap('race'), secret: { kind: 'keychain', secret: 'pw' }, check: concurrent, cwd: '/' })).rejects.toMatchObject({ exitCode: 65 });
    expect(stores.secrets.keychain.size).toBe(0);
    expect(names(stores)).toEqual(['race']);
  });

  it('no keychain: refused before the test with the other sources as fixes, nothing written', async () => {
    const stores = memoryAccounts();
    stores.secrets.down = true;
    const check = vi.fn(passes);
    const err = await addAccount(stores, { input: imap('a'), secret: { kind: 'keychain', secret: 'x' }, check, cwd: '/' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EKEYCHAIN', message: expect.stringContaining('nothing was saved'), fixes: [{ field: 'passwordEnv', value: 'VAR' }] });
    expect(check).not.toHaveBeenCalled();
    expect(stores.config.writes).toBe(0);
  });

  it('a failed config write takes the new keychain entry back', async () => {
    const stores = memoryAccounts();
    stores.config.failNextWrite = true;
    await expect(addAccount(stores, { input: imap('a'), secret: { kind: 'keychain', secret: 'x' }, cwd: '/' })).rejects.toMatchObject({ code: 'EIO' });
    expect(stores.secrets.keychain.size).toBe(0);
    expect(stores.config.config.accounts).toEqual([]);
  });

  it('an active SMTP account switches the other one off and says which', async () => {
    const stores = await seeded(smtp('out1'), imap('in'));
    const outcome = await addAccount(stores, { input: smtp('out2'), cwd: '/' });
    expect(outcome.deactivated).toEqual(['out1']);
    expect(stores.config.config.accounts.map((a) => [a.name, a.active])).toEqual([['out1', false], ['in', true], ['out2', true]]);
    expect((await addAccount(stores, { input: smtp('out3', { active: false }), cwd: '/' })).deactivated).toEqual([]);
  });

  it('a filter that does not exist or faces the other way is refused, naming the filter field', async () => {
    const stores = memoryAccounts({ filters: [{ name: 'out', direction: 'outbound', allow: [], deny: ['*'], default: false }] });
    await expect(addAccount(stores, { input: imap('a', { filter: 'nope' }), secret: envPw, cwd: '/' })).rejects.toMatchObject({
      exitCode: 66,
      fixes: [{ field: 'filter', value: 'OTHER' }, { field: 'filter', clear: true }],
    });
    await expect(addAccount(stores, { input: imap('a', { filter: 'out' }), secret: envPw, cwd: '/' })).rejects.toMatchObject({ exitCode: 65, field: 'filter' });
  });

  it('a CA file is resolved against the given folder and checked', async () => {
    const stores = memoryAccounts();
    await expect(addAccount(stores, { input: imap('a', { tls: { ca: 'nope.pem' } }), secret: envPw, cwd: '/nonexistent' })).rejects.toMatchObject({
      exitCode: 66,
      message: 'no such CA file: /nonexistent/nope.pem',
      fixes: [{ field: 'ca', value: 'FILE' }],
    });
  });
});

/** A second writer on the same in-memory config (another mailbox process). */
function memoryAccountsSharing(stores: MemoryAccounts): MemoryAccounts {
  return { ...stores, events: [] };
}

describe('editAccount', () => {
  it('nothing changed: no test, no write', async () => {
    const stores = await seeded(imap('work'));
    const check = vi.fn(passes);
    const before = await existing(stores, 'work');
    const outcome = await editAccount(stores, { existing: before, input: { ...before }, check, cwd: '/' });
    expect(outcome).toMatchObject({ status: 'unchanged', changes: [] });
    expect(check).not.toHaveBeenCalled();
    expect(stores.events).toEqual([]);
  });

  it('tests again only when what the test covers changed', async () => {
    const stores = await seeded(imap('work'));
    const check = vi.fn(passes);
    const before = await existing(stores, 'work');
    expect((await editAccount(stores, { existing: before, input: { ...before, debug: true }, check, cwd: '/' })).changes).toEqual(['debug']);
    expect(check).not.toHaveBeenCalled();
    const now = await existing(stores, 'work');
    const outcome = await editAccount(stores, { existing: now, input: { ...now, port: 1993 }, check, cwd: '/' });
    expect(outcome.changes).toEqual(['port']);
    expect(check).toHaveBeenCalledOnce();
  });

  it('switching from the keychain to the environment removes the entry after the write; a failure to remove is reported', async () => {
    const stores = memoryAccounts();
    await addAccount(stores, { input: imap('a'), secret: { kind: 'keychain', secret: 'one' }, cwd: '/' });
    await addAccount(stores, { input: imap('b'), secret: { kind: 'keychain', secret: 'two' }, cwd: '/' });
    stores.events.length = 0;
    const a = await editAccount(stores, { existing: await existing(stores, 'a'), input: { ...(await existing(stores, 'a')) }, secret: envPw, cwd: '/' });
    expect(a.cleanup).toEqual([{ ref: { kind: 'keychain', service: 'mailbox', key: 'a' }, account: 'a', removed: true }]);
    expect(stores.events).toEqual(['config write', 'keychain remove mailbox/a']);
    stores.secrets.failRemove = true;
    const b = await editAccount(stores, { existing: await existing(stores, 'b'), input: { ...(await existing(stores, 'b')) }, secret: envPw, cwd: '/' });
    expect(b).toMatchObject({ status: 'saved', cleanup: [{ account: 'b', removed: false, error: expect.stringContaining('unavailable') }] });
    expect(stores.config.config.accounts.find((x) => x.name === 'b')!.secret).toEqual(envPw);
  });

  it('a new password under the same entry is a "password" change; a failed write restores the old one', async () => {
    const stores = memoryAccounts();
    await addAccount(stores, { input: imap('a'), secret: { kind: 'keychain', secret: 'old' }, cwd: '/' });
    const before = await existing(stores, 'a');
    const outcome = await editAccount(stores, { existing: before, input: { ...before }, secret: { kind: 'keychain', secret: 'new' }, check: passes, cwd: '/' });
    expect(outcome.changes).toEqual(['password']);
    expect(stores.secrets.keychain.get('mailbox/a')).toBe('new');
    stores.config.failNextWrite = true;
    await expect(editAccount(stores, { existing: before, input: { ...before, port: 1 }, secret: { kind: 'keychain', secret: 'newer' }, cwd: '/' })).rejects.toMatchObject({ code: 'EIO' });
    expect(stores.secrets.keychain.get('mailbox/a')).toBe('new');
  });

  it('provisioned accounts cannot be edited (77); an account removed meanwhile is not found under the lock (66)', async () => {
    const stores = memoryAccounts({ accounts: [parseAccount(smtp('corp'))] });
    expect(() => accountToEdit([{ ...parseAccount(smtp('corp')), provisioned: true }], 'corp')).toThrow(expect.objectContaining({ exitCode: 77 }));
    await addAccount(stores, { input: imap('gone'), secret: envPw, cwd: '/' });
    const before = await existing(stores, 'gone');
    const check: ConnectionCheck = async () => {
      await removeAccount(stores, 'gone');
      return { save: true, exitCode: 0 };
    };
    await expect(editAccount(stores, { existing: before, input: { ...before, port: 1993 }, check, cwd: '/' })).rejects.toMatchObject({ exitCode: 66 });
    expect(names(stores)).toEqual([]);
  });
});

describe('removeAccount', () => {
  it('removes the account and its own keychain entry, keeps an entry another account names', async () => {
    const stores = memoryAccounts();
    await addAccount(stores, { input: imap('a'), secret: { kind: 'keychain', secret: 'x' }, cwd: '/' });
    const shared = { kind: 'keychain', service: 'mailbox', key: 'a' } as const;
    stores.config.config.accounts.push(parseAccount({ ...imap('b'), secret: shared }));
    expect(await removeAccount(stores, 'A')).toEqual({ name: 'a', type: 'imap', cleanup: null });
    expect(stores.secrets.keychain.has('mailbox/a')).toBe(true);
    expect(await removeAccount(stores, 'b')).toMatchObject({ cleanup: { removed: true } });
    expect(stores.secrets.keychain.size).toBe(0);
  });

  it('provisioned accounts cannot be removed; unknown ones are 66', async () => {
    const stores = memoryAccounts({ accounts: [parseAccount(smtp('corp'))] });
    await expect(removeAccount(stores, 'corp')).rejects.toMatchObject({ code: 'EPROVISIONED', exitCode: 77 });
    await expect(removeAccount(stores, 'nope')).rejects.toMatchObject({ exitCode: 66 });
    expect(stores.config.writes).toBe(0);
  });
});

describe('setActive', () => {
  it('one active SMTP account, provisioned ones switched through the user choice; no change writes nothing', async () => {
    const stores = memoryAccounts({ accounts: [parseAccount(smtp('corp', { active: false }))] });
    await addAccount(stores, { input: smtp('mine'), cwd: '/' });
    const on = await setActive(stores, 'CORP', true);
    expect(on).toEqual({ name: 'corp', type: 'smtp', provisioned: true, active: true, changed: true, deactivated: ['mine'] });
    expect(stores.config.config.provisionedActive).toEqual({ corp: true });
    const writes = stores.config.writes;
    expect(await setActive(stores, 'corp', true)).toMatchObject({ changed: false, deactivated: [] });
    expect(stores.config.writes).toBe(writes);
  });
});

describe('applyDocument', () => {
  it('a dry run writes nothing; --prune removes the keychain entry of a pruned account, naming it', async () => {
    const stores = memoryAccounts();
    await addAccount(stores, { input: imap('keep'), secret: envPw, cwd: '/' });
    await addAccount(stores, { input: imap('gone'), secret: { kind: 'keychain', secret: 'x' }, cwd: '/' });
    const doc = { accounts: [parseAccount({ ...imap('keep'), secret: envPw }), parseAccount({ ...smtp('new'), security: 'none' })], filters: [] };
    const dry = await applyDocument(stores, doc, { prune: true, dryRun: true, source: 'doc.json' });
    expect(dry.plan.accounts.map((e) => [e.name, e.action])).toEqual([['keep', 'unchanged'], ['gone', 'remove'], ['new', 'create']]);
    expect(dry.weakChoices).toEqual([]); // a dry run chooses nothing
    expect(names(stores)).toEqual(['keep', 'gone']);
    const done = await applyDocument(stores, doc, { prune: true, dryRun: false, source: 'doc.json' });
    expect(done.cleanup).toEqual([{ ref: { kind: 'keychain', service: 'mailbox', key: 'gone' }, account: 'gone', removed: true }]);
    expect(done.weakChoices).toEqual([{ account: 'new', field: 'security', value: 'none' }]);
    expect(names(stores)).toEqual(['keep', 'new']);
  });
});

describe('weak settings are reported when they are chosen, not on every write (issue 9)', () => {
  it('add reports each; edit only what it changes to weaker; apply only for the entries that bring them in', async () => {
    const stores = memoryAccounts();
    const added = await addAccount(stores, { input: imap('w', { security: 'starttls', tls: { insecure: true } }), secret: envPw, cwd: '/' });
    expect(added.weakChoices).toEqual([{ account: 'w', field: 'security', value: 'starttls' }, { account: 'w', field: 'insecure' }]);
    const before = await existing(stores, 'w');
    const unrelated = await editAccount(stores, { existing: before, input: { ...before, debug: true }, cwd: '/' });
    expect(unrelated).toMatchObject({ status: 'saved', weakChoices: [] });
    const weaker = await editAccount(stores, { existing: await existing(stores, 'w'), input: { ...(await existing(stores, 'w')), security: 'none', port: 143 }, cwd: '/' });
    expect(weaker.weakChoices).toEqual([{ account: 'w', field: 'security', value: 'none' }]);
    const stronger = await editAccount(stores, { existing: await existing(stores, 'w'), input: { ...(await existing(stores, 'w')), security: 'tls', port: 993 }, cwd: '/' });
    expect(stronger.weakChoices).toEqual([]);

    const doc = { accounts: [{ ...(await existing(stores, 'w')), debug: false }, parseAccount({ ...imap('plain'), security: 'none', secret: envPw })], filters: [] };
    const applied = await applyDocument(stores, doc, { prune: false, dryRun: false, source: 'doc.json' });
    expect(applied.plan.accounts.map((e) => e.action)).toEqual(['update', 'create']);
    expect(applied.weakChoices).toEqual([{ account: 'plain', field: 'security', value: 'none' }]);
  });
});

describe('filters', () => {
  it('a new default takes over its direction; a taken name is refused', async () => {
    const stores = memoryAccounts();
    await addFilter(stores, { name: 'junk', direction: 'inbound', deny: ['spam.test'], default: true });
    const strict = await addFilter(stores, { name: 'strict', direction: 'inbound', deny: ['*'], default: true });
    expect(strict).toMatchObject({ filter: { name: 'strict', default: true }, replacedDefault: 'junk' });
    await expect(addFilter(stores, { name: 'JUNK', direction: 'inbound' })).rejects.toMatchObject({ exitCode: 65, field: 'name' });
  });

  it('a filter in use is not removed: the fix names the account and the filter field', async () => {
    const stores = memoryAccounts();
    await addFilter(stores, { name: 'junk', direction: 'inbound', deny: ['spam.test'] });
    await addAccount(stores, { input: imap('in', { filter: 'junk' }), secret: envPw, cwd: '/' });
    await expect(removeFilter(stores, 'junk')).rejects.toMatchObject({ exitCode: 65, account: 'in', fixes: [{ field: 'filter', value: 'OTHER' }, { field: 'filter', clear: true }] });
    const before = await existing(stores, 'in');
    await editAccount(stores, { existing: before, input: { ...before, filter: undefined }, cwd: '/' });
    expect(await removeFilter(stores, 'JUNK')).toEqual({ removed: 'junk' });
  });
});

describe('editFilter (issue 9: filters could not be edited)', () => {
  it('adds and removes patterns per list, keeping their order; adding one that is there changes nothing', async () => {
    const stores = memoryAccounts();
    await addFilter(stores, { name: 'junk', direction: 'inbound', allow: ['a@spam.test'], deny: ['spam.test', 'bad.test'] });
    const edited = await editFilter(stores, 'JUNK', { deny: ['*.spam.test', 'BAD.test'], removeDeny: ['spam.test'], removeAllow: ['a@spam.test'], allow: ['b@spam.test'] });
    expect(edited).toMatchObject({ filter: { name: 'junk', allow: ['b@spam.test'], deny: ['bad.test', '*.spam.test'], default: false }, changes: ['allow', 'deny'], replacedDefault: null });
    expect(stores.config.config.filters[0]).toEqual(edited.filter);
    const writes = stores.config.writes;
    expect(await editFilter(stores, 'junk', { deny: ['bad.test'] })).toMatchObject({ changes: [] });
    expect(stores.config.writes).toBe(writes);
  });

  it('--default takes over the direction (the old default says so); --no-default lets go', async () => {
    const stores = memoryAccounts();
    await addFilter(stores, { name: 'old', direction: 'inbound', deny: ['x.test'], default: true });
    await addFilter(stores, { name: 'new', direction: 'inbound', deny: ['y.test'] });
    await addFilter(stores, { name: 'out', direction: 'outbound', deny: ['*'], default: true });
    expect(await editFilter(stores, 'new', { default: true })).toMatchObject({ changes: ['default'], replacedDefault: 'old' });
    expect(stores.config.config.filters.map((f) => [f.name, f.default])).toEqual([['old', false], ['new', true], ['out', true]]);
    expect(await editFilter(stores, 'new', { default: false })).toMatchObject({ changes: ['default'], replacedDefault: null });
    expect(stores.config.config.filters.every((f) => f.direction === 'outbound' || !f.default)).toBe(true);
  });

  it('refuses what cannot be: a pattern it does not have (65), one added and removed at once (64), a bad pattern (65), provisioned (77), unknown (66)', async () => {
    const stores = memoryAccounts({ filters: [{ name: 'corp', direction: 'inbound', allow: [], deny: ['*'], default: false }] });
    await addFilter(stores, { name: 'junk', direction: 'inbound', deny: ['spam.test'] });
    await expect(editFilter(stores, 'junk', { removeDeny: ['nope.test'] })).rejects.toMatchObject({ exitCode: 65, field: 'remove-deny', message: expect.stringContaining('spam.test') });
    await expect(editFilter(stores, 'junk', { allow: ['a.test'], removeAllow: ['a.test'] })).rejects.toMatchObject({ exitCode: 64 });
    await expect(editFilter(stores, 'junk', { deny: ['not a pattern'] })).rejects.toMatchObject({ exitCode: 65, field: 'deny' });
    await expect(editFilter(stores, 'corp', { deny: ['x.test'] })).rejects.toMatchObject({ exitCode: 77 });
    await expect(editFilter(stores, 'nope', { deny: ['x.test'] })).rejects.toMatchObject({ exitCode: 66 });
    expect(stores.config.config.filters).toEqual([{ name: 'junk', direction: 'inbound', allow: [], deny: ['spam.test'], default: false }]);
  });
});
