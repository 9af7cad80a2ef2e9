import { describe, expect, it } from 'vitest';
import { parseAccount, type Account, type AccountInput } from '../../src/core/account.js';
import { emptyConfig, parseAccountsDocument, type AccountsDocument, type Config } from '../../src/core/config.js';
import type { AddressFilter } from '../../src/core/filter.js';
import { canonical, changedFields, planApply } from '../../src/core/plan.js';

const acct = (name: string, type: 'smtp' | 'imap' | 'pop3', extra: AccountInput = {}): Account =>
  parseAccount({ name, type, host: `${type}.example.com`, user: 'u@example.com', secret: { kind: 'keychain', key: name.toLowerCase() }, ...extra });
const filter = (name: string, direction: 'inbound' | 'outbound', isDefault = false): AddressFilter => ({ name, direction, allow: [], deny: ['spam.test'], default: isDefault });
const none: AccountsDocument = { accounts: [], filters: [] };
const opts = { prune: false, source: 'doc.json' };

describe('planApply', () => {
  const current: Config = { ...emptyConfig(), accounts: [acct('keep', 'imap'), acct('change', 'pop3'), acct('gone', 'imap')], filters: [filter('junk', 'inbound')] };
  const doc: AccountsDocument = {
    accounts: [acct('keep', 'imap'), acct('change', 'pop3', { port: 1995, debug: true }), acct('new', 'smtp')],
    filters: [filter('junk', 'inbound'), filter('out', 'outbound')],
  };

  it('creates, updates (naming the fields) and leaves the rest; keeps unnamed accounts without --prune', () => {
    const plan = planApply(current, none, doc, opts);
    expect(plan.accounts).toEqual([
      { name: 'keep', action: 'unchanged', changes: [] },
      { name: 'change', action: 'update', changes: ['debug', 'port'] },
      { name: 'new', action: 'create', changes: [] },
    ]);
    expect(plan.filters.map((f) => [f.name, f.action])).toEqual([['junk', 'unchanged'], ['out', 'create']]);
    expect(plan.config.accounts.map((a) => a.name)).toEqual(['keep', 'change', 'gone', 'new']);
    expect(plan.changed).toBe(true);
    expect(plan.orphanedSecrets).toEqual([]);
  });

  it('is idempotent: applying the same document to its result changes nothing', () => {
    const first = planApply(current, none, doc, { ...opts, prune: true });
    const second = planApply(first.config, none, doc, { ...opts, prune: true });
    expect(second.changed).toBe(false);
    expect([...second.accounts, ...second.filters].every((e) => e.action === 'unchanged')).toBe(true);
    expect(canonical(second.config)).toBe(canonical(first.config));
  });

  it('--prune removes what the file does not name and frees its keychain entry', () => {
    const plan = planApply(current, none, doc, { ...opts, prune: true });
    expect(plan.accounts).toContainEqual({ name: 'gone', action: 'remove', changes: [] });
    expect(plan.config.accounts.map((a) => a.name)).toEqual(['keep', 'change', 'new']);
    expect(plan.orphanedSecrets).toEqual([{ kind: 'keychain', service: 'mailbox', key: 'gone' }]);
  });

  it('a keychain entry still named by another account is not orphaned', () => {
    const shared = { ...current, accounts: [acct('a', 'imap'), acct('b', 'imap', { secret: { kind: 'keychain', key: 'a' } })] };
    const plan = planApply(shared, none, { accounts: [acct('b', 'imap', { secret: { kind: 'keychain', key: 'a' } })], filters: [] }, { ...opts, prune: true });
    expect(plan.orphanedSecrets).toEqual([]);
  });

  it('never touches provisioned accounts or filters', () => {
    const provisioned: AccountsDocument = { accounts: [acct('corp', 'imap')], filters: [filter('corp-junk', 'inbound')] };
    const plan = planApply(current, provisioned, { accounts: [acct('corp', 'imap', { port: 1 })], filters: [filter('corp-junk', 'inbound')] }, { ...opts, prune: true });
    expect(plan.accounts.find((e) => e.name === 'corp')).toMatchObject({ action: 'skip' });
    expect(plan.filters.find((e) => e.name === 'corp-junk')).toMatchObject({ action: 'skip' });
    expect(plan.config.accounts.some((a) => a.name === 'corp')).toBe(false);
  });

  it('an active SMTP account in the file switches off the store ones, provisioned included', () => {
    const store: Config = { ...emptyConfig(), accounts: [acct('old', 'smtp')] };
    const provisioned: AccountsDocument = { accounts: [acct('corp', 'smtp')], filters: [] };
    const plan = planApply(store, provisioned, { accounts: [acct('new', 'smtp')], filters: [] }, opts);
    expect(plan.config.accounts.map((a) => [a.name, a.active])).toEqual([['old', false], ['new', true]]);
    expect(plan.config.provisionedActive).toEqual({ corp: false });
    expect(plan.accounts.filter((e) => e.action === 'update').map((e) => e.name).sort()).toEqual(['corp', 'old']);
    expect(planApply(plan.config, provisioned, { accounts: [acct('new', 'smtp')], filters: [] }, opts).changed).toBe(false);
  });

  it('refuses two active SMTP accounts, missing or misdirected filters, two defaults', () => {
    expect(() => planApply(current, none, { accounts: [acct('a', 'smtp'), acct('b', 'smtp')], filters: [] }, opts)).toThrow(/doc.json: 2 SMTP accounts are active/);
    expect(() => planApply(current, none, { accounts: [acct('a', 'imap', { filter: 'nope' })], filters: [] }, opts)).toThrow(
      /doc.json: accounts\[0\] \(a\): account a: no filter named "nope"/,
    );
    expect(() => planApply(current, none, { accounts: [acct('a', 'imap', { filter: 'out' })], filters: [filter('out', 'outbound')] }, opts)).toThrow(
      expect.objectContaining({ code: 'EVALUE', field: 'filter' }),
    );
    const withUser = { ...current, accounts: [acct('x', 'imap', { filter: 'junk' })] };
    // The file turns the filter around under an account it does not name.
    expect(() => planApply(withUser, none, { accounts: [], filters: [filter('junk', 'outbound')] }, opts)).toThrow(
      /account x \(not in the file\): invalid filter "junk" for account x: it is outbound/,
    );
    expect(() => planApply(current, none, { accounts: [], filters: [filter('d1', 'inbound', true), filter('d2', 'inbound', true)] }, opts)).toThrow(
      /2 inbound filters are marked default/,
    );
  });

  it("the file's default filter takes over its direction from the store's", () => {
    const store: Config = { ...emptyConfig(), filters: [filter('old', 'inbound', true), filter('out', 'outbound', true)] };
    const plan = planApply(store, none, { accounts: [], filters: [filter('new', 'inbound', true)] }, opts);
    expect(plan.config.filters.map((f) => [f.name, f.default])).toEqual([['old', false], ['out', true], ['new', true]]);
    expect(plan.filters).toContainEqual({ name: 'old', action: 'update', changes: ['default'], reason: 'no longer the default: new is the default inbound filter' });
    expect(planApply(plan.config, none, { accounts: [], filters: [filter('new', 'inbound', true)] }, opts).changed).toBe(false);
    // A provisioned default cannot be taken over: refused.
    const provisioned: AccountsDocument = { accounts: [], filters: [filter('corp', 'inbound', true)] };
    expect(() => planApply(emptyConfig(), provisioned, { accounts: [], filters: [filter('new', 'inbound', true)] }, opts)).toThrow(/2 inbound filters are marked default \(corp, new\)/);
  });

  it('an exported document is valid input (round trip through JSON)', () => {
    const exported = JSON.parse(JSON.stringify({ accounts: doc.accounts, filters: doc.filters }));
    const parsed = parseAccountsDocument(exported, 'export.json');
    expect(parsed).toEqual(doc);
  });
});

describe('changedFields', () => {
  it('compares values, not key order', () => {
    expect(changedFields({ a: 1, b: { x: 1, y: 2 } }, { b: { y: 2, x: 1 }, a: 1 })).toEqual([]);
    expect(changedFields({ a: 1, c: undefined }, { a: 2, d: [1] })).toEqual(['a', 'd']);
  });
});
