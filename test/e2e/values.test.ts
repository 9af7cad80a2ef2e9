// Values and the runner's rules through the built executable (issues 9 and 10): numbers and durations
// range-checked before anything is written, the extreme accepted values round-trip through every
// command, control characters refused, huge values cut, From with a display name on the wire, filters
// that fail closed and rule violations reported against real servers, broken JSON with its line.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, startSmtp, type Dovecot, type SmtpServer } from '../harness/index.js';
import { runMailbox, tmpHome, type RunResult } from '../helpers/cli.js';

const homes: (() => void)[] = [];
afterAll(() => homes.forEach((cleanup) => cleanup()));

function newHome(): string {
  const { home, cleanup } = tmpHome('mailbox-values-');
  homes.push(cleanup);
  return home;
}

function json(r: RunResult): any {
  expect(r.stderr).not.toMatch(/internal error/);
  return JSON.parse(r.stdout);
}

const configOf = (home: string) => path.join(home, 'config.json');

describe('numbers and durations are checked before anything is written', () => {
  it('--max-size 99999999999999999999999 is 65 naming the range; nothing is written and later commands work', async () => {
    const home = newHome();
    const r = await runMailbox(['add', '--type', 'imap', '--name', 'w', '--host', 'imap.example.com', '--user', 'me', '--password-env', 'PW', '--max-size', '99999999999999999999999', '--no-test'], { home });
    expect(r.code).toBe(65);
    expect(r.stderr).toContain('invalid max-size "99999999999999999999999": expected a size from 1 byte to 4GB');
    expect(fs.existsSync(configOf(home))).toBe(false);
    expect((await runMailbox(['list'], { home })).code).toBe(0);
  });

  it('an apply file or provisioned.json with 1e23 is refused the same way (65 / 78), the config untouched', async () => {
    const home = newHome();
    const account = { name: 'w', type: 'imap', host: 'imap.example.com', user: 'me', secret: { kind: 'env', name: 'PW' }, maxMessageSize: 1e23 };
    fs.writeFileSync(path.join(home, 'doc.json'), JSON.stringify({ accounts: [account] }));
    const applied = await runMailbox(['apply', '-f', path.join(home, 'doc.json')], { home });
    expect(applied.code).toBe(65);
    expect(applied.stderr).toContain('invalid maxMessageSize 1e+23: expected a size from 1 byte to 4GB');
    expect(fs.existsSync(configOf(home))).toBe(false);
    fs.writeFileSync(path.join(home, 'provisioned.json'), JSON.stringify({ accounts: [{ ...account, port: 1e21 }] }));
    const listed = await runMailbox(['list'], { home });
    expect(listed.code).toBe(78);
    expect(listed.stderr).toContain('invalid port 1e+21: expected a whole number from 1 to 65535');
  });

  it('durations that would overflow a timer are 65 at once, the accepted range in the message', async () => {
    const home = newHome();
    const started = Date.now();
    const run = await runMailbox(['run', '--read-interval', '597h'], { home });
    expect(run.code).toBe(65);
    expect(run.stderr).toContain('invalid read-interval "597h": expected a duration from 1s to 24h');
    const send = await runMailbox(['run', '--once', '--send-interval', '0'], { home });
    expect(send.code).toBe(65);
    const test = await runMailbox(['test', '--timeout', '2147484'], { home });
    expect(test.code).toBe(65);
    expect(test.stderr).toContain('invalid timeout "2147484": expected a duration from 1s to 10m');
    const limit = await runMailbox(['emails', '--limit', '1e3'], { home });
    expect(limit.code).toBe(65);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe("every field's extreme accepted values round-trip: add -> list -> export -> apply -> list", () => {
  const host = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.');
  const longName = `n${'x'.repeat(63)}`;
  const filterName = `f${'y'.repeat(63)}`;
  const adds = [
    ['filter', 'add', filterName, '--direction', 'inbound', '--deny', `*@${'s'.repeat(60)}.example.com`],
    ['add', '--type', 'imap', '--name', longName, '--host', host, '--port', '65535', '--security', 'starttls', '--user', `ü${'u'.repeat(255)}`,
      '--password-command', `echo ${'c'.repeat(4091)}`, '--folder', `Ordner/${'f'.repeat(993)}`, '--max-size', '4GB', '--filter', filterName,
      '--delete-after-download', '--debug', '--fingerprint', 'ab'.repeat(32), '--no-test'],
    ['add', '--type', 'pop3', '--name', 'p', '--host', '::1', '--port', '1', '--security', 'none', '--user', 'u', '--password-env', `P${'W'.repeat(254)}`, '--max-size', '1', '--no-test'],
    ['add', '--type', 'smtp', '--name', 's', '--host', '203.0.113.255', '--security', 'ssl', '--user', 'relay-user', '--password-env', 'PW',
      '--from', `"Ünïcode, ${'N'.repeat(150)}" <${'l'.repeat(64)}@${'d'.repeat(60)}.example.com>`, '--inactive', '--no-test'],
  ];

  it('each is accepted, listed as given, exported, applied to a fresh store, and listed the same; every command still works', async () => {
    const home = newHome();
    for (const args of adds) {
      const r = await runMailbox(args, { home });
      expect(r.stderr).not.toMatch(/invalid|error/i);
      expect(r.code).toBe(0);
    }
    const listed = json(await runMailbox(['list', '--json'], { home }));
    const byName = Object.fromEntries(listed.map((a: any) => [a.name, a]));
    expect(byName[longName]).toMatchObject({ host, port: 65535, maxMessageSize: 4 * 1024 ** 3, folder: `Ordner/${'f'.repeat(993)}`, filter: filterName, debug: true });
    expect(byName.p).toMatchObject({ host: '::1', port: 1, maxMessageSize: 1, security: 'none' });
    expect(byName.s).toMatchObject({ security: 'tls', port: 465, active: false, from: expect.stringMatching(/^"Ünïcode, N+" <l{64}@d{60}\.example\.com>$/) });
    const exported = await runMailbox(['export'], { home });
    expect(exported.code).toBe(0);
    expect(exported.stdout).not.toMatch(/e\+\d/);

    const other = newHome();
    fs.writeFileSync(path.join(other, 'doc.json'), exported.stdout);
    const applied = await runMailbox(['apply', '-f', path.join(other, 'doc.json')], { home: other });
    expect(applied.stderr).not.toMatch(/invalid|error/i);
    expect(applied.code).toBe(0);
    expect(json(await runMailbox(['list', '--json'], { home: other }))).toEqual(listed);
    for (const command of [['list'], ['status'], ['show', longName], ['filter', 'list'], ['export']]) {
      expect((await runMailbox(command, { home: other })).code).toBe(0);
    }
  });

  it('one past each extreme is refused (65) and writes nothing', async () => {
    const home = newHome();
    const flags = (over: Record<string, string>) =>
      Object.entries({ type: 'imap', name: 'w', host: 'imap.example.com', user: 'me', 'password-env': 'PW', ...over }).flatMap(([flag, value]) => (value ? [`--${flag}`, value] : []));
    const cases: Record<string, string>[] = [
      { port: '65536' },
      { 'max-size': '4294967297' },
      { folder: 'f'.repeat(1001) },
      { name: `n${'x'.repeat(64)}` },
      { host: `${host}e` },
      { user: 'u'.repeat(257) },
      { 'password-env': `P${'W'.repeat(255)}` },
      { 'password-env': '', 'password-command': 'c'.repeat(4097) },
    ];
    for (const over of cases) {
      const r = await runMailbox(['add', ...flags(over), '--no-test'], { home });
      const flag = Object.keys(over).at(-1)!;
      expect([r.code, r.stderr.split('\n')[0]]).toEqual([65, expect.stringContaining(`invalid ${flag}`)]);
    }
    expect(fs.existsSync(configOf(home))).toBe(false);
  });
});

describe('control characters and huge values', () => {
  const base = ['add', '--type', 'imap', '--name', 'w', '--host', 'imap.example.com', '--user', 'me', '--password-env', 'PW', '--no-test'];

  it.each([
    ['--folder', 'IN\r\nBOX', 'folder'],
    ['--folder', 'IN\u2028BOX', 'folder'],
    ['--user', 'me\u001b[2Jx', 'user'],
    ['--name', 'w\u0085x', 'name'],
    ['--ca', '/tmp/ca\n.pem', 'ca'],
  ])('%s %j is 65; the message stays on one line', async (flag, value, field) => {
    const r = await runMailbox([...base.filter((a, i) => a !== flag && base[i - 1] !== flag), flag, value], { home: newHome() });
    expect(r.code).toBe(65);
    const [first] = r.stderr.split('\n');
    expect(first).toMatch(new RegExp(`^mailbox: invalid ${field} "`));
    if (field !== 'name') expect(first).toContain('no control characters');
    expect(r.stderr).not.toMatch(/[\r\u0085\u2028\u001b]/);
  });

  it('password commands, From and filter patterns too', async () => {
    const home = newHome();
    const cmd = await runMailbox(['add', '--type', 'imap', '--name', 'w', '--host', 'h.example.com', '--user', 'me', '--password-command', 'pass show x\nrm -rf ~', '--no-test'], { home });
    expect(cmd.code).toBe(65);
    const from = await runMailbox(['add', '--type', 'smtp', '--name', 's', '--host', 'h.example.com', '--from', 'Ops\nBcc: x@evil.test <ops@example.com>', '--no-test'], { home });
    expect(from.code).toBe(65);
    const pattern = await runMailbox(['filter', 'add', 'f', '--direction', 'inbound', '--deny', 'spam\u2028.test'], { home });
    expect(pattern.code).toBe(65);
    expect(fs.existsSync(configOf(home))).toBe(false);
  });

  it('a 100,000-character value is echoed cut, saying so', async () => {
    const huge = 'h'.repeat(100_000);
    const r = await runMailbox(['add', '--type', 'imap', '--name', 'w', '--host', `${huge}.example.com`, '--user', 'me', '--password-env', 'PW', '--no-test', '--json'], { home: newHome() });
    expect(r.code).toBe(65);
    expect(r.stderr.length).toBeLessThan(600);
    expect(JSON.parse(r.stderr).error.message).toContain('... (cut: 100012 characters)');
    const test = await runMailbox(['test', huge], { home: newHome() });
    expect(test.code).toBe(66);
    expect(test.stderr.length).toBeLessThan(600);
  });
});

describe('add refuses what would fail only at send time; accepts what admins type', () => {
  it('an SMTP account whose user is not an address needs a From: 65, the hint says to run add again with --from', async () => {
    const home = newHome();
    const r = await runMailbox(['add', '--type', 'smtp', '--name', 's', '--host', 'smtp.example.com', '--user', 'alice', '--password-env', 'PW', '--no-test'], { home });
    expect(r.code).toBe(65);
    expect(r.stderr).toContain('SMTP account s logs in as "alice", which is not an email address, so it needs a From address');
    expect(r.stderr).toContain('run mailbox add again with --from ADDRESS');
    expect(fs.existsSync(configOf(home))).toBe(false);
    const ok = await runMailbox(['add', '--type', 'smtp', '--name', 's', '--host', 'smtp.example.com', '--user', 'alice', '--password-env', 'PW', '--from', 'Alice <alice@example.com>', '--no-test', '--json'], { home });
    expect(json(ok).account).toMatchObject({ from: 'Alice <alice@example.com>' });
  });

  it('--security ssl means tls (port 993)', async () => {
    const r = await runMailbox(['add', '--type', 'imap', '--name', 'w', '--host', 'h.example.com', '--security', 'SSL', '--user', 'me', '--password-env', 'PW', '--no-test', '--json'], { home: newHome() });
    expect(json(r).account).toMatchObject({ security: 'tls', port: 993 });
  });

  it('a broken config.json says the line and column, not a position', async () => {
    const home = newHome();
    fs.writeFileSync(configOf(home), '{\n  "version": 1,\n  "accounts": [\n    {"name": "a",}\n  ]\n}\n');
    const r = await runMailbox(['list'], { home });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${configOf(home)}: not valid JSON at line 4, column 18: expected a property name in double quotes`);
    expect(r.stderr).not.toMatch(/position/);
    fs.writeFileSync(path.join(home, 'doc.json'), '{"accounts": [,]}');
    const applied = await runMailbox(['apply', '-f', path.join(home, 'doc.json')], { home: newHome() });
    expect(applied.code).toBe(65);
    expect(applied.stderr).toContain('not valid JSON at line 1, column 15: expected a value');
  });
});

describe('against real servers', () => {
  let dovecot: Dovecot;
  let smtp: SmtpServer;
  beforeAll(async () => {
    [dovecot, smtp] = await Promise.all([startDovecot(), startSmtp()]);
  });
  afterAll(async () => {
    await Promise.all([dovecot?.stop(), smtp?.stop()]);
  });
  const env = { MBX_PW: 'bob-secret', SMTP_PW: 'alice-secret' };
  const secret = (name: string) => ({ kind: 'env', name });

  function setup(config: { accounts: unknown[]; filters?: unknown[] }, provisioned?: { accounts?: unknown[]; filters?: unknown[] }): string {
    const home = newHome();
    fs.writeFileSync(configOf(home), JSON.stringify({ version: 1, filters: [], ...config }));
    if (provisioned) fs.writeFileSync(path.join(home, 'provisioned.json'), JSON.stringify(provisioned));
    return home;
  }
  const imapAccount = (over: object = {}) => ({ name: 'in', type: 'imap', host: dovecot.host, port: dovecot.imapsPort, user: 'bob', secret: secret('MBX_PW'), tls: { ca: dovecot.caFile }, ...over });
  const popAccount = () => ({ name: 'pop', type: 'pop3', host: dovecot.host, port: dovecot.pop3sPort, user: 'bob', secret: secret('MBX_PW'), tls: { ca: dovecot.caFile } });
  const smtpAccount = (name: string, over: object = {}) => ({ name, type: 'smtp', host: smtp.host, port: smtp.smtpsPort, user: 'alice', from: 'alice@example.test', secret: secret('SMTP_PW'), tls: { ca: smtp.caFile }, ...over });
  const inbox = (home: string) => (fs.existsSync(path.join(home, 'mail', 'inbox', 'new')) ? fs.readdirSync(path.join(home, 'mail', 'inbox', 'new')) : []);

  it('a filter removed from provisioned.json: the account reads nothing (78, every cycle); the other account goes on', async () => {
    await dovecot.doveadm(['expunge', '-u', 'bob', 'mailbox', 'INBOX', 'all']).catch(() => undefined);
    await dovecot.deliver('bob', 'Message-ID: <spam1@test>\r\nFrom: eve@spam.test\r\nSubject: spam\r\n\r\nbuy\r\n');
    const strict = { name: 'strict', direction: 'inbound', deny: ['spam.test'] };
    const home = setup({ accounts: [imapAccount({ filter: 'strict' }), popAccount()] }, { filters: [strict] });
    fs.writeFileSync(path.join(home, 'provisioned.json'), JSON.stringify({ filters: [] }));
    for (let cycle = 0; cycle < 2; cycle++) {
      const r = await runMailbox(['run', '--once', '--log-format', 'json'], { home, env });
      expect(r.code).toBe(78);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.find((l) => l.account === 'in')).toMatchObject({ ok: false, error: { code: 'ECONFIG', exit: 78, message: expect.stringContaining('names the filter strict, which does not exist: nothing is read from it') } });
      expect(lines.find((l) => l.account === 'pop')).toMatchObject({ ok: true });
    }
    expect(inbox(home).filter((n) => n.includes('src=in+'))).toEqual([]);
    expect(inbox(home).filter((n) => n.includes('src=pop+')).length).toBe(1);
    const status = await runMailbox(['status', '--json'], { home, env });
    expect(status.code).toBe(78);
    expect(json(status).accounts.find((a: any) => a.name === 'in')).toMatchObject({ ok: false, error: expect.stringContaining('does not exist') });
    const list = await runMailbox(['list'], { home });
    expect(list.code).toBe(78);
    expect(list.stderr).toContain('hint: create the inbound filter strict (mailbox filter add), or name another filter: mailbox edit in --filter OTHER, or mailbox edit in --no-filter');
    const test = await runMailbox(['test', 'in'], { home, env });
    expect(test.code).toBe(78);
    expect(test.stdout).toMatch(/✓ login/);
  });

  it('an outbound filter missing from a hand-edited config.json: nothing is sent, the queue waits', async () => {
    const before = smtp.messages().length;
    const home = setup({ accounts: [smtpAccount('out', { filter: 'partners' })] });
    expect((await runMailbox(['send', '--to', 'someone@blocked.test', '--subject', 'x', '--text', 'y'], { home, env })).code).toBe(0);
    const r = await runMailbox(['run', '--once'], { home, env });
    expect(r.code).toBe(78);
    expect(r.stdout).toMatch(/send out: FAILED: account out names the filter partners, which does not exist: nothing is sent through it/);
    expect(smtp.messages().length).toBe(before);
    expect(json(await runMailbox(['status', '--json'], { home })).queue.waiting).toBe(1);
  });

  it('two active SMTP accounts: nothing is sent, both named, until mailbox activate chooses one', async () => {
    const before = smtp.messages().length;
    const home = setup({ accounts: [smtpAccount('out1', { active: true }), smtpAccount('out2', { active: true })] });
    expect((await runMailbox(['send', '--to', 'bob@example.test', '--subject', 'x', '--text', 'y'], { home, env })).code).toBe(0);
    const r = await runMailbox(['run', '--once'], { home, env });
    expect(r.code).toBe(78);
    expect(r.stdout).toContain('FAILED: 2 SMTP accounts are active (out1, out2), but only one may be: nothing is sent until one is left');
    expect(smtp.messages().length).toBe(before);
    for (const command of [['list'], ['status'], ['test', 'out2']]) {
      const shown = await runMailbox(command, { home, env });
      expect(shown.code).toBe(78);
      expect(shown.stderr + shown.stdout).toContain('2 SMTP accounts are active (out1, out2)');
    }
    const activated = await runMailbox(['activate', 'out2'], { home });
    expect(activated.stderr).toContain('deactivated smtp account out1');
    const sent = await runMailbox(['run', '--once'], { home, env });
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/send out2: 1 sent/);
  });

  it("a provisioned account with a user account's name: neither is used, list/status/run/test say so", async () => {
    const home = setup({ accounts: [imapAccount({ name: 'Work' })] }, { accounts: [popAccount()].map((a) => ({ ...a, name: 'work' })) });
    const list = await runMailbox(['list'], { home });
    expect(list.code).toBe(78);
    expect(list.stderr).toContain('account Work: your account in config.json and a provisioned account have this name');
    const r = await runMailbox(['run', '--once', '--log-format', 'json'], { home, env });
    expect(r.code).toBe(78);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ account: 'work', ok: false, error: { exit: 78 } });
    expect(inbox(home)).toEqual([]);
    expect((await runMailbox(['test', 'work'], { home, env })).code).toBe(78);
    expect((await runMailbox(['status'], { home })).code).toBe(78);
  });

  it('From with a display name: the header keeps the name, the envelope sender is the address', async () => {
    const home = newHome();
    const add = await runMailbox(['add', '--type', 'smtp', '--name', 'out', '--host', smtp.host, '--port', String(smtp.smtpsPort), '--ca', smtp.caFile,
      '--user', 'alice', '--password-env', 'SMTP_PW', '--from', 'Jöns Ålund <jons@example.test>', '--no-test'], { home });
    expect(add.code).toBe(0);
    expect((await runMailbox(['send', '--to', 'bob@example.test', '--subject', 'name', '--text', 'x'], { home, env })).code).toBe(0);
    expect((await runMailbox(['send', '--from', '"Ops, Team" <ops@example.test>', '--to', 'bob@example.test', '--subject', 'ops', '--text', 'x'], { home, env })).code).toBe(0);
    const before = smtp.messages().length;
    expect((await runMailbox(['run', '--once'], { home, env })).code).toBe(0);
    const got = (await smtp.waitForMessages(before + 2)).slice(before);
    for (const m of got) expect(m.from).toBe('jons@example.test');
    const headers = got.map((m) => m.raw.toString('utf8').split('\r\n\r\n')[0]!);
    expect(headers.some((h) => /^From: =\?UTF-8\?.*<jons@example\.test>$/m.test(h))).toBe(true);
    expect(headers.some((h) => /^From: "Ops, Team" <ops@example\.test>$/m.test(h))).toBe(true);
  });
});
