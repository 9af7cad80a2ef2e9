// export, apply and provisioned accounts through the built executable.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMailbox, tmpHome, type RunResult } from '../helpers/cli.js';
import { storedConfig, storedConfigDocument } from '../helpers/store.js';

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));
function newHome(): string {
  const { home, cleanup } = tmpHome();
  cleanups.push(cleanup);
  return home;
}
function json(r: RunResult): any {
  return JSON.parse(r.stdout);
}
async function ok(args: string[], home: string, input?: string): Promise<RunResult> {
  const r = await runMailbox(args, { home, input });
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

const source = newHome();
let exported: string;

beforeAll(async () => {
  await ok(['filter', 'add', 'junk', '--direction', 'inbound', '--deny', 'spam.test', '--default'], source);
  await ok(['add', '--type', 'imap', '--name', 'work', '--host', 'imap.example.com', '--user', 'me', '--password-env', 'WORK_PW', '--filter', 'junk', '--no-test'], source);
  await ok(['add', '--type', 'smtp', '--name', 'out', '--host', 'smtp.example.com', '--security', 'starttls', '--no-test'], source);
  await ok(['add', '--type', 'pop3', '--name', 'old', '--host', 'pop.example.com', '--user', 'me', '--password-command', 'pass show old', '--inactive', '--no-test'], source);
  exported = (await ok(['export'], source)).stdout;
});

describe('export', () => {
  it('prints accounts and filters with secret references only', () => {
    const doc = JSON.parse(exported);
    expect(Object.keys(doc)).toEqual(['accounts', 'filters']);
    expect(doc.accounts.map((a: any) => a.name)).toEqual(['work', 'out', 'old']);
    // One shape of a secret reference everywhere (issue 9): as list --json prints it.
    expect(doc.accounts[0].secret).toEqual({ kind: 'env', ref: 'WORK_PW', name: 'WORK_PW' });
    expect(doc.accounts[2].secret).toEqual({ kind: 'command', ref: 'pass show old', command: 'pass show old' });
    expect(doc.accounts[1]).not.toHaveProperty('secret'); // auth none: no source
    expect(doc.filters).toEqual([{ name: 'junk', direction: 'inbound', allow: [], deny: ['spam.test'], default: true }]);
  });
});

describe('apply', () => {
  const target = newHome();
  const file = path.join(target, 'accounts.json');
  beforeAll(() => fs.writeFileSync(file, exported));

  it('--dry-run prints the plan and writes nothing', async () => {
    const r = await ok(['apply', '-f', file, '--dry-run', '--json'], target);
    expect(json(r)).toMatchObject({ dryRun: true, changed: true });
    expect(storedConfig(target)).toBeUndefined();
    expect(json(r).accounts.map((e: any) => e.action)).toEqual(['create', 'create', 'create']);
    expect(fs.existsSync(path.join(target, 'config.json'))).toBe(false);
    expect(r.stderr).not.toContain('warning'); // a dry run chooses nothing (issue 9)
  });

  it('creates everything; the round trip exports the same document', async () => {
    const r = await ok(['apply', '-f', file], target);
    expect(r.stdout).toBe(['create    account work', 'create    account out', 'create    account old', 'create    filter junk', ''].join('\n'));
    expect(r.stderr).toContain('4 create');
    expect(r.stderr).toMatch(/warning: account out: security starttls/);
    expect((await ok(['export'], target)).stdout).toBe(exported);
  });

  it('is idempotent: a second apply changes nothing, config byte-identical', async () => {
    const before = storedConfig(target);
    const r = await ok(['apply', '-f', file, '--json'], target);
    expect(r.stderr).not.toContain('warning');
    expect(json(r).changed).toBe(false);
    expect([...json(r).accounts, ...json(r).filters].every((e: any) => e.action === 'unchanged')).toBe(true);
    expect(r.stderr).toContain('no change');
    expect(storedConfig(target)).toBe(before);
  });

  it('updates changed entries (naming the fields), reads stdin with -f -, keeps unnamed accounts; --prune removes them', async () => {
    await ok(['add', '--type', 'imap', '--name', 'extra', '--host', 'imap.example.com', '--user', 'x', '--password-env', 'X', '--no-test'], target);
    const doc = JSON.parse(exported);
    doc.accounts[0].port = 1993;
    doc.accounts[0].debug = true;
    doc.accounts = doc.accounts.filter((a: any) => a.name !== 'old');
    const r = await ok(['apply', '-f', '-', '--json'], target, JSON.stringify(doc));
    expect(json(r).accounts).toEqual([
      { name: 'work', action: 'update', changes: ['debug', 'port'] },
      { name: 'out', action: 'unchanged', changes: [] },
    ]);
    expect(json(await ok(['list', '--json'], target)).map((a: any) => a.name)).toEqual(['work', 'out', 'old', 'extra']);
    const pruned = await ok(['apply', '-f', '-', '--prune'], target, JSON.stringify(doc));
    expect(pruned.stdout).toMatch(/^remove\s+account old$/m);
    expect(pruned.stdout).toMatch(/^remove\s+account extra$/m);
    expect(json(await ok(['list', '--json'], target)).map((a: any) => a.name)).toEqual(['work', 'out']);
  });

  it('one secret shape: list --json prints what export prints; apply still reads the old shapes', async () => {
    const listed = json(await ok(['list', '--json'], target));
    const doc = json(await ok(['export'], target));
    for (const account of doc.accounts) expect(listed.find((a: any) => a.name === account.name).secret).toEqual(account.secret ?? { kind: 'none', ref: null });
    const old = newHome();
    const oldDoc = {
      accounts: [
        { name: 'k', type: 'imap', host: 'imap.example.com', user: 'me', secret: { kind: 'keychain', service: 'mailbox', key: 'k' } },
        { name: 'e', type: 'imap', host: 'imap.example.com', user: 'me', secret: { kind: 'env', name: 'E_PW' } },
        { name: 'c', type: 'pop3', host: 'pop.example.com', user: 'me', secret: { kind: 'command', command: 'pass show c' } },
      ],
    };
    await ok(['apply', '-f', '-'], old, JSON.stringify(oldDoc));
    expect(json(await ok(['list', '--json'], old)).map((a: any) => a.secret)).toEqual([
      { kind: 'keychain', ref: 'mailbox/k', service: 'mailbox', key: 'k' },
      { kind: 'env', ref: 'E_PW', name: 'E_PW' },
      { kind: 'command', ref: 'pass show c', command: 'pass show c' },
    ]);
  });

  it('an active SMTP account in the file switches the store one off', async () => {
    await ok(['add', '--type', 'smtp', '--name', 'mine', '--host', 'smtp.example.com', '--no-test'], target);
    const r = await ok(['apply', '-f', file, '--json'], target);
    expect(json(r).accounts).toContainEqual({ name: 'mine', action: 'update', changes: ['active'], reason: 'switched off: out is the active SMTP account' });
    expect(json(await ok(['list', '--type', 'smtp', '--active', '--json'], target)).map((a: any) => a.name)).toEqual(['out']);
  });

  it('validates the whole file before writing: 65 naming the entry and the field, nothing written', async () => {
    const before = storedConfig(target);
    const bad = JSON.parse(exported);
    bad.accounts[1] = { ...bad.accounts[1], port: 0 };
    bad.accounts.push({ name: 'new-one', type: 'imap', host: 'imap.example.com', user: 'u', secret: { kind: 'env', name: 'P' } });
    const r = await runMailbox(['apply', '-f', '-', '--json'], { home: target, input: JSON.stringify(bad) });
    expect(r.code).toBe(65);
    expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'EVALUE', field: 'port', message: '<stdin>: accounts[1] (out): invalid port 0: expected a whole number from 1 to 65535' });

    const twoSmtp = JSON.parse(exported);
    twoSmtp.accounts.push({ ...twoSmtp.accounts[1], name: 'out-2' });
    const two = await runMailbox(['apply', '-f', '-'], { home: target, input: JSON.stringify(twoSmtp) });
    expect(two.code).toBe(65);
    expect(two.stderr).toContain('2 SMTP accounts are active (out, out-2); only one SMTP account may be active at a time');

    const badFilter = JSON.parse(exported);
    badFilter.accounts[0].filter = 'ghost';
    expect((await runMailbox(['apply', '-f', '-'], { home: target, input: JSON.stringify(badFilter) })).code).toBe(65);
    expect((await runMailbox(['apply', '-f', '-'], { home: target, input: '{"accounts": [' })).code).toBe(65);
    expect((await runMailbox(['apply', '-f', path.join(target, 'missing.json')], { home: target })).code).toBe(66);
    expect((await runMailbox(['apply'], { home: target })).code).toBe(64);
    expect(storedConfig(target)).toBe(before);
  });
});

describe('provisioned accounts', () => {
  const home = newHome();
  const provisionedFile = path.join(home, 'provisioned.json');

  beforeAll(async () => {
    // The administrator's file has the shape of an export.
    const doc = JSON.parse(exported);
    doc.accounts = doc.accounts.map((a: any) => ({ ...a, name: `corp-${a.name}` }));
    doc.filters = [{ name: 'corp-junk', direction: 'inbound', deny: ['spam.test'], default: true }];
    doc.accounts[0].filter = 'corp-junk';
    fs.writeFileSync(provisionedFile, JSON.stringify(doc), { mode: 0o644 });
    await ok(['add', '--type', 'smtp', '--name', 'mine', '--host', 'smtp.example.com', '--inactive', '--no-test'], home);
  });

  it('are listed first, marked provisioned', async () => {
    const list = json(await ok(['list', '--json'], home));
    expect(list.map((a: any) => [a.name, a.provisioned])).toEqual([['corp-work', true], ['corp-out', true], ['corp-old', true], ['mine', false]]);
    expect((await ok(['list'], home)).stdout).toMatch(/^corp-work\s.*provisioned$/m);
  });

  it('cannot be edited or removed: 77 with a clear message, files untouched', async () => {
    const before = fs.readFileSync(provisionedFile);
    const edit = await runMailbox(['edit', 'corp-work', '--port', '1'], { home });
    expect(edit.code).toBe(77);
    expect(edit.stderr).toContain('account corp-work is provisioned by the administrator and cannot be edited');
    expect(edit.stderr).toContain('provisioned accounts can only be activated and deactivated');
    const remove = await runMailbox(['remove', 'corp-work', '--yes', '--json'], { home });
    expect(remove.code).toBe(77);
    expect(JSON.parse(remove.stderr).error.code).toBe('EPROVISIONED');
    // Its name is taken, and the hint does not send the user to `edit`, which would be refused (77).
    const taken = await runMailbox(['add', '--type', 'smtp', '--name', 'CORP-OUT', '--host', 'h.example.com', '--no-test'], { home });
    expect(taken.code).toBe(65);
    expect(taken.stderr).toContain('hint: choose another name: run mailbox add again with --name OTHER');
    expect(taken.stderr).not.toContain('mailbox edit');
    // Their filters too: not removed, not displaced as the default of their direction.
    const filter = await runMailbox(['filter', 'remove', 'corp-junk'], { home });
    expect(filter.code).toBe(77);
    expect(filter.stderr).toContain('filter corp-junk is provisioned by the administrator and cannot be removed');
    expect((await runMailbox(['filter', 'add', 'mine', '--direction', 'inbound', '--deny', 'x.test', '--default'], { home })).code).toBe(77);
    expect(json(await ok(['filter', 'list', '--json'], home))).toEqual([
      { name: 'corp-junk', direction: 'inbound', allow: [], deny: ['spam.test'], default: true, provisioned: true, usedBy: ['corp-work'], usedByDefault: ['corp-old'] },
    ]);
    expect((await runMailbox(['filter', 'edit', 'corp-junk', '--deny', 'x.test'], { home })).code).toBe(77);
    expect(fs.readFileSync(provisionedFile).equals(before)).toBe(true);
  });

  it('can be switched off and on; the choice is kept in the user config, and the SMTP rule spans both', async () => {
    const off = json(await ok(['deactivate', 'corp-work', '--json'], home));
    expect(off).toMatchObject({ account: 'corp-work', active: false, provisioned: true, changed: true });
    const config = storedConfigDocument(home);
    expect(config.provisionedActive).toEqual({ 'corp-work': false });
    expect(config.accounts.map((a: any) => a.name)).toEqual(['mine']);
    const mine = json(await ok(['activate', 'mine', '--json'], home));
    expect(mine.deactivated).toEqual(['corp-out']);
    const corp = json(await ok(['activate', 'corp-out', '--json'], home));
    expect(corp.deactivated).toEqual(['mine']);
    expect(json(await ok(['list', '--active', '--json'], home)).map((a: any) => a.name)).toEqual(['corp-out']);
  });

  it('apply never touches them; MAILBOX_PROVISIONED points elsewhere', async () => {
    const doc = JSON.parse(exported);
    doc.accounts = [{ ...doc.accounts[2], name: 'corp-old', port: 1 }];
    doc.filters = [];
    const r = await ok(['apply', '-f', '-', '--prune', '--json'], home, JSON.stringify(doc));
    expect(json(r).accounts).toContainEqual(expect.objectContaining({ name: 'corp-old', action: 'skip' }));
    expect(json(await ok(['show', 'corp-old', '--json'], home)).port).toBe(995);

    const other = newHome();
    const r2 = await runMailbox(['list', '--json'], { home: other, env: { MAILBOX_PROVISIONED: provisionedFile } });
    expect(json(r2).map((a: any) => a.name)).toEqual(['corp-work', 'corp-out', 'corp-old']);
    fs.writeFileSync(path.join(other, 'bad-provisioned.json'), '{"accounts": [{"name": "x"}]}');
    const bad = await runMailbox(['list'], { home: other, env: { MAILBOX_PROVISIONED: path.join(other, 'bad-provisioned.json') } });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('bad-provisioned.json: accounts[0] (x): invalid type');
  });
});
