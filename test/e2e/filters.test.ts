// mailbox filter add|list|remove|test and account filters, through the built executable.
import { afterAll, describe, expect, it } from 'vitest';
import { runMailbox, tmpHome, type RunResult } from '../helpers/cli.js';

const { home, cleanup } = tmpHome();
afterAll(cleanup);

function json(r: RunResult): any {
  return JSON.parse(r.stdout);
}

describe('filters', () => {
  it('adds filters with repeatable --allow/--deny, one default per direction', async () => {
    const a = await runMailbox(['filter', 'add', 'junk', '--direction', 'inbound', '--deny', '*.Spam.test', '--deny', 'bad@example.com', '--allow', 'friend@x.spam.test', '--default', '--json'], { home });
    expect(a.code).toBe(0);
    expect(json(a)).toEqual({
      filter: { name: 'junk', direction: 'inbound', allow: ['friend@x.spam.test'], deny: ['*.spam.test', 'bad@example.com'], default: true, provisioned: false, usedBy: [], usedByDefault: [] },
      replacedDefault: null,
    });
    const b = await runMailbox(['filter', 'add', 'strict', '--direction', 'inbound', '--deny', '*', '--default', '--json'], { home });
    expect(json(b).replacedDefault).toBe('junk');
    expect(b.stderr).toContain('filter junk is no longer the default inbound filter');
    const out = await runMailbox(['filter', 'add', 'partners', '--direction', 'outbound', '--deny', '*', '--allow', '*.partner.test', '--default'], { home });
    expect(out.code).toBe(0);
    const list = json(await runMailbox(['filter', 'list', '--json'], { home }));
    expect(list.map((f: any) => [f.name, f.direction, f.default])).toEqual([
      ['junk', 'inbound', false],
      ['strict', 'inbound', true],
      ['partners', 'outbound', true],
    ]);
  });

  it('refuses bad input: direction (64 missing, 65 bad), patterns, duplicates', async () => {
    expect((await runMailbox(['filter', 'add', 'x', '--deny', 'a.test'], { home })).code).toBe(64);
    const dir = await runMailbox(['filter', 'add', 'x', '--direction', 'sideways'], { home });
    expect(dir.code).toBe(65);
    expect(dir.stderr).toContain('invalid direction "sideways": expected one of inbound, outbound');
    const pattern = await runMailbox(['filter', 'add', 'x', '--direction', 'inbound', '--deny', 'not a pattern'], { home });
    expect(pattern.code).toBe(65);
    expect(pattern.stderr).toContain('invalid deny "not a pattern"');
    const dup = await runMailbox(['filter', 'add', 'JUNK', '--direction', 'inbound'], { home });
    expect(dup.code).toBe(65);
    expect(dup.stderr).toContain('a filter named junk already exists');
  });

  it('filter edit changes patterns and the default (issue 9); nothing asked for is 64', async () => {
    const r = await runMailbox(['filter', 'edit', 'junk', '--deny', 'worse@example.com', '--remove-deny', 'bad@example.com', '--default', '--json'], { home });
    expect(r.code).toBe(0);
    expect(json(r)).toMatchObject({ filter: { name: 'junk', deny: ['*.spam.test', 'worse@example.com'], default: true }, changes: ['deny', 'default'], replacedDefault: 'strict' });
    expect(r.stderr).toContain('filter strict is no longer the default inbound filter');
    const missing = await runMailbox(['filter', 'edit', 'junk', '--remove-allow', 'nobody@x.test'], { home });
    expect(missing.code).toBe(65);
    expect(missing.stderr).toContain('invalid remove-allow "nobody@x.test": expected a pattern of the allow list of filter junk: friend@x.spam.test');
    expect((await runMailbox(['filter', 'edit', 'junk'], { home })).code).toBe(64);
    const undo = await runMailbox(['filter', 'edit', 'junk', '--no-default'], { home });
    expect(undo.stderr).toContain('updated inbound filter junk: default');
    expect(json(await runMailbox(['filter', 'list', '--direction', 'inbound', '--json'], { home })).map((f: any) => [f.name, f.default])).toEqual([['junk', false], ['strict', false]]);
    expect((await runMailbox(['filter', 'edit', 'strict', '--default'], { home })).code).toBe(0);
  });

  it('filter test prints allowed/blocked and the deciding pattern; allow beats deny', async () => {
    const blocked = await runMailbox(['filter', 'test', 'junk', 'eve@mx.spam.test'], { home });
    expect(blocked.stdout).toBe('blocked: eve@mx.spam.test (deny pattern *.spam.test)\n');
    const allowed = await runMailbox(['filter', 'test', 'junk', 'friend@x.spam.test', '--json'], { home });
    expect(json(allowed)).toEqual({ filter: 'junk', address: 'friend@x.spam.test', blocked: false, decidedBy: { list: 'allow', pattern: 'friend@x.spam.test' } });
    const neutral = await runMailbox(['filter', 'test', 'junk', 'bob@example.org', '--json'], { home });
    expect(json(neutral)).toEqual({ filter: 'junk', address: 'bob@example.org', blocked: false, decidedBy: null });
    expect((await runMailbox(['filter', 'test', 'nope', 'a@b.test'], { home })).code).toBe(66);
    expect((await runMailbox(['filter', 'test', 'junk', 'not-an-address'], { home })).code).toBe(65);
  });

  it("an account's filter must exist (66) and face its direction (65)", async () => {
    const base = ['add', '--type', 'imap', '--name', 'in', '--host', 'imap.example.com', '--user', 'u', '--password-env', 'PW', '--no-test'];
    const missing = await runMailbox([...base, '--filter', 'nope'], { home });
    expect(missing.code).toBe(66);
    expect(missing.stderr).toContain('no filter named "nope"');
    const wrong = await runMailbox([...base, '--filter', 'partners'], { home });
    expect(wrong.code).toBe(65);
    expect(wrong.stderr).toContain('invalid filter "partners" for account in: it is outbound, but imap accounts take inbound filters');
    expect((await runMailbox([...base, '--filter', 'junk'], { home })).code).toBe(0);
    const smtp = await runMailbox(['add', '--type', 'smtp', '--name', 'out', '--host', 'smtp.example.com', '--filter', 'junk', '--no-test'], { home });
    expect(smtp.code).toBe(65);
  });

  it('a filter in use is not removed (65, naming the accounts); once free it is', async () => {
    const used = await runMailbox(['filter', 'remove', 'junk'], { home });
    expect(used.code).toBe(65);
    expect(used.stderr).toContain('filter junk is used by account in');
    expect(json(await runMailbox(['filter', 'list', '--direction', 'inbound', '--json'], { home }))[0].usedBy).toEqual(['in']);
    expect((await runMailbox(['edit', 'in', '--no-filter'], { home })).code).toBe(0);
    const r = await runMailbox(['filter', 'remove', 'junk', '--json'], { home });
    expect(r.code).toBe(0);
    expect(json(r)).toEqual({ removed: 'junk' });
    expect((await runMailbox(['filter', 'remove', 'junk'], { home })).code).toBe(66);
  });
});
