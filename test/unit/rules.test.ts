import { describe, expect, it } from 'vitest';
import { parseAccount, type Account, type AccountInput } from '../../src/core/account.js';
import { emptyConfig, parseConfig, type Config } from '../../src/core/config.js';
import type { AddressFilter } from '../../src/core/filter.js';
import {
  accountViews,
  assertEditable,
  assertFilterFits,
  assertNameFree,
  assertOneActiveSmtp,
  assertOneDefaultPerDirection,
  enforceOneActiveSmtp,
  filterViews,
  withActive,
} from '../../src/core/rules.js';

const acct = (name: string, type: 'smtp' | 'imap' | 'pop3', extra: AccountInput = {}): Account =>
  parseAccount({ name, type, host: `${type}.example.com`, user: 'u@example.com', secret: { kind: 'env', name: 'PW' }, ...extra });
const filter = (name: string, direction: 'inbound' | 'outbound', isDefault = false): AddressFilter => ({ name, direction, allow: [], deny: ['spam.test'], default: isDefault });

describe('one active SMTP account', () => {
  const config: Config = { ...emptyConfig(), accounts: [acct('s1', 'smtp'), acct('s2', 'smtp', { active: false }), acct('in', 'imap')] };
  const provisioned = [acct('corp', 'smtp', { active: false }), acct('corp-in', 'imap')];

  it('activating one SMTP account switches off the other active ones, incoming ones stay', () => {
    const s2 = { ...config.accounts[1]!, active: true };
    const next = withActive(config, { ...s2, provisioned: false }, true);
    const { config: after, deactivated } = enforceOneActiveSmtp(next, accountViews(next, provisioned), s2);
    expect(deactivated).toEqual(['s1']);
    expect(after.accounts.map((a) => [a.name, a.active])).toEqual([['s1', false], ['s2', true], ['in', true]]);
  });

  it('a provisioned SMTP account is switched through the user choice, never its own record', () => {
    const views = accountViews(config, provisioned);
    const corp = views.find((v) => v.name === 'corp')!;
    const next = withActive(config, corp, true);
    expect(next.provisionedActive).toEqual({ corp: true });
    const { config: after, deactivated } = enforceOneActiveSmtp(next, accountViews(next, provisioned), { ...corp, active: true });
    expect(deactivated).toEqual(['s1']);
    expect(accountViews(after, provisioned).filter((v) => v.type === 'smtp' && v.active).map((v) => v.name)).toEqual(['corp']);
    expect(provisioned[0]!.active).toBe(false);
  });

  it('an incoming or inactive target deactivates nothing', () => {
    expect(enforceOneActiveSmtp(config, accountViews(config, []), config.accounts[2]!).deactivated).toEqual([]);
    expect(enforceOneActiveSmtp(config, accountViews(config, []), { ...config.accounts[1]!, active: false }).deactivated).toEqual([]);
  });

  it('a set with two active SMTP accounts is refused, naming them', () => {
    expect(() => assertOneActiveSmtp([acct('a', 'smtp'), acct('b', 'smtp'), acct('c', 'imap')], 'file.json')).toThrow(
      'file.json: 2 SMTP accounts are active (a, b); only one SMTP account may be active at a time',
    );
    expect(() => assertOneActiveSmtp([acct('a', 'smtp'), acct('b', 'smtp', { active: false }), acct('c', 'imap'), acct('d', 'imap')], 'f')).not.toThrow();
  });
});

describe('provisioned accounts', () => {
  const config: Config = { ...emptyConfig(), accounts: [acct('mine', 'imap'), acct('CORP', 'imap', { host: 'user.example.com' })], provisionedActive: { corp: false } };
  const views = accountViews(config, [acct('corp', 'imap')]);

  it('are listed first, marked, with the user on/off choice; a user account with the same name is hidden', () => {
    expect(views.map((v) => [v.name, v.provisioned, v.active])).toEqual([['corp', true, false], ['mine', false, true]]);
  });
  it('cannot be edited or removed (exit 77)', () => {
    expect(() => assertEditable(views[0]!, 'removed')).toThrow(expect.objectContaining({ code: 'EPROVISIONED', exitCode: 77 }));
    expect(() => assertEditable(views[1]!, 'removed')).not.toThrow();
  });
  it('names are unique without regard to case, provisioned ones included', () => {
    expect(() => assertNameFree(views, 'Corp')).toThrow(/a provisioned account named corp already exists/);
    expect(() => assertNameFree(views, 'MINE')).toThrow(/an account named mine already exists/);
    expect(() => assertNameFree(views, 'other')).not.toThrow();
  });
});

describe('filters of accounts', () => {
  const filters = [filter('junk', 'inbound', true), filter('outgoing', 'outbound')];
  it('must exist (66) and face the direction (65)', () => {
    expect(() => assertFilterFits(filters, acct('i', 'imap', { filter: 'JUNK' }))).not.toThrow();
    expect(() => assertFilterFits(filters, acct('s', 'smtp', { filter: 'outgoing' }))).not.toThrow();
    expect(() => assertFilterFits(filters, acct('p', 'pop3', { filter: 'outgoing' }))).toThrow(expect.objectContaining({ exitCode: 65, field: 'filter' }));
    expect(() => assertFilterFits(filters, acct('s', 'smtp', { filter: 'junk' }))).toThrow(/but smtp accounts take outbound filters/);
    expect(() => assertFilterFits(filters, acct('i', 'imap', { filter: 'nope' }))).toThrow(expect.objectContaining({ exitCode: 66 }));
  });
  it('one default per direction', () => {
    expect(() => assertOneDefaultPerDirection([...filters, filter('out2', 'outbound', true)], 'x')).not.toThrow();
    expect(() => assertOneDefaultPerDirection([...filters, filter('j2', 'inbound', true)], 'x')).toThrow('x: 2 inbound filters are marked default (junk, j2); only one per direction may be');
  });
  it('provisioned filters come first and hide user filters of the same name', () => {
    const config = { ...emptyConfig(), filters: [filter('junk', 'outbound'), filter('mine', 'inbound')] };
    expect(filterViews(config, [filter('junk', 'inbound')]).map((f) => [f.name, f.direction, f.provisioned])).toEqual([
      ['junk', 'inbound', true],
      ['mine', 'inbound', false],
    ]);
  });
});

describe('config file problems name the file and the entry', () => {
  it('bad entries, duplicates, versions, provisionedActive', () => {
    expect(() => parseConfig({ accounts: [{ name: 'x', type: 'imap', host: 'h.example.com', user: 'u', secret: { kind: 'env', name: 'P' }, port: 0 }] }, '/c.json')).toThrow(
      '/c.json: accounts[0] (x): invalid port 0: expected a whole number from 1 to 65535',
    );
    expect(() => parseConfig({ accounts: 'nope' }, '/c.json')).toThrow('/c.json: "accounts" must be a list');
    expect(() => parseConfig({ accounts: [acct('a', 'imap'), acct('A', 'imap')] }, '/c.json')).toThrow(/two accounts are named "A"/);
    expect(() => parseConfig({ version: 7 }, '/c.json')).toThrow(/unsupported version 7/);
    expect(() => parseConfig({ provisionedActive: { x: 'yes' } }, '/c.json')).toThrow(/provisionedActive."x" must be true or false/);
    expect(() => parseConfig([], '/c.json')).toThrow(expect.objectContaining({ code: 'ECONFIG', exitCode: 78 }));
  });
});
