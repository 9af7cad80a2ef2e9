// mailbox migrate-store --to URL: a local store that has read IMAP and POP3 mail, queued mail and kept
// its seen state moves into a database; a runner on the database then fetches nothing again, sends
// the queue, and reads only what is new. A second copy finds everything there.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, startSmtp, type Dovecot, type SmtpServer } from '../harness/index.js';
import { runMailbox, tmpHome, type RunResult } from '../helpers/cli.js';
import { startDatabases, type Databases } from '../helpers/databases.js';
import { bulkDeliver, numbered } from '../integration/run-fixtures.js';

let databases: Databases;
let dovecot: Dovecot;
let smtp: SmtpServer;
let home: string;
let cleanup: () => void;
const env = { PW: 'alice-secret' };
const N = 40;
// In a second folder that work-imap reads too: its own cursor must move with the rest.
const M = 5;

beforeAll(async () => {
  [databases, dovecot, smtp] = await Promise.all([startDatabases(), startDovecot(), startSmtp()]);
  ({ home, cleanup } = tmpHome());
  await bulkDeliver(dovecot, 'alice', numbered(N, 800));
  await dovecot.doveadm(['mailbox', 'create', '-u', 'alice', 'Archive']);
  for (let i = 0; i < M; i++) await dovecot.deliver('alice', `Message-ID: <archived-${i}@test>\r\nFrom: x@example.test\r\nSubject: archived ${i}\r\n\r\nold\r\n`, 'Archive');
  const common = { user: 'alice', secret: { kind: 'env', name: 'PW' }, security: 'tls' };
  const config = {
    version: 1,
    accounts: [
      { ...common, name: 'work-imap', type: 'imap', folders: ['INBOX', 'Archive'], host: dovecot.host, port: dovecot.imapsPort, tls: { ca: dovecot.caFile }, filter: 'junk' },
      { ...common, name: 'work-pop', type: 'pop3', host: dovecot.host, port: dovecot.pop3sPort, tls: { ca: dovecot.caFile } },
      { ...common, name: 'out', type: 'smtp', host: smtp.host, port: smtp.smtpsPort, from: 'alice@example.test', tls: { ca: smtp.caFile }, active: false },
      // Not read here: it only proves that the profile it names moves with it.
      { name: 'cloud', type: 'imap', host: 'outlook.office365.com', user: 'me@contoso.test', auth: 'oauth2', oauth: 'm365', security: 'tls', active: false },
    ],
    filters: [{ name: 'junk', direction: 'inbound', allow: [], deny: ['spam.test'], default: false }],
    oauthProfiles: [{ name: 'm365', provider: 'microsoft', clientId: 'cid-1', tenant: 'contoso.test' }],
    settings: { retention: 'sent=90d', 'guard-spam-flag': 'off' },
  };
  fs.writeFileSync(path.join(home, 'config.json'), JSON.stringify(config));
  const run = await runMailbox(['run', '--once'], { home, env });
  expect(run.code, run.stderr).toBe(0);
  // Queued while no SMTP account is active: they wait in the local outbox.
  for (const subject of ['first', 'second']) expect((await runMailbox(['send', '--from', 'alice@example.test', '--to', 'bob@example.test', '--subject', subject, '--text', 'hi'], { home })).code).toBe(0);
}, 90_000);
afterAll(async () => {
  cleanup?.();
  await Promise.all([databases?.stop(), dovecot?.stop(), smtp?.stop()]);
});

const json = (r: RunResult) => JSON.parse(r.stdout);

function digests(dir: string): string[] {
  return ['inbox', 'outbox', 'sent', 'failed', 'skipped'].flatMap((box) => {
    const d = path.join(dir, box, 'new');
    return fs.existsSync(d) ? fs.readdirSync(d).map((name) => `${box} ${name} ${createHash('sha256').update(fs.readFileSync(path.join(d, name))).digest('hex')}`) : [];
  });
}

describe('mailbox migrate-store', () => {
  it('copies accounts, filters, every email with its bytes, the queue and the seen state; again, nothing', async () => {
    const url = await databases.fresh();
    const r = await runMailbox(['migrate-store', '--to', url, '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    const result = json(r);
    expect(result.to).not.toContain('mailbox-pw');
    expect(result.accounts.map((a: { name: string; action: string }) => `${a.action} ${a.name}`)).toEqual(['create work-imap', 'create work-pop', 'create out', 'create cloud']);
    expect(result.filters).toEqual([{ name: 'junk', action: 'create', changes: [] }]);
    expect(result.emails).toEqual({ copied: 2 * N + M + 2, present: 0, missing: [] });
    expect(result.seen).toEqual([
      { account: 'work-imap', imap: 'copied', folders: 1, pop3: 0 },
      { account: 'work-pop', imap: null, folders: 0, pop3: N },
    ]);
    expect(result.status).toBe(2);

    const again = json(await runMailbox(['migrate-store', '--to', url, '--json'], { home }));
    expect(again.accounts.every((a: { action: string }) => a.action === 'unchanged')).toBe(true);
    expect(again.emails).toEqual({ copied: 0, present: 2 * N + M + 2, missing: [] });
    expect(again.seen).toEqual([
      { account: 'work-imap', imap: 'kept', folders: 0, pop3: 0 },
      { account: 'work-pop', imap: null, folders: 0, pop3: 0 },
    ]);

    // The same emails, byte for byte, on both stores.
    const onDb = { MAILBOX_DATABASE_URL: url };
    const local = json(await runMailbox(['emails', '--json'], { home }));
    const copied = json(await runMailbox(['emails', '--json'], { home, env: onDb }));
    const strip = (list: Array<Record<string, unknown>>) => list.map(({ path: _path, ...rest }) => rest);
    expect(strip(copied)).toEqual(strip(local));
    for (const [where, extra] of [['local', {}], ['db', onDb]] as const) {
      expect((await runMailbox(['emails', 'export', '--maildir', path.join(home, `export-${where}`)], { home, env: extra })).code).toBe(0);
    }
    expect(digests(path.join(home, 'export-db'))).toEqual(digests(path.join(home, 'export-local')));
    expect(digests(path.join(home, 'export-db'))).toHaveLength(2 * N + M + 2);
    // The OAuth profile and the operating settings too, as the local store has them.
    expect(json(await runMailbox(['oauth', 'list', '--json'], { home, env: onDb }))).toEqual([expect.objectContaining({ name: 'm365', provider: 'microsoft', clientId: 'cid-1', usedBy: ['cloud'] })]);
    const settingsOn = async (extra: Record<string, string>) =>
      Object.fromEntries(json(await runMailbox(['settings', '--json'], { home, env: extra })).filter((s: { value: string | null }) => s.value !== null).map((s: { key: string; value: string }) => [s.key, s.value]));
    expect(await settingsOn(onDb)).toEqual({ retention: 'sent=90d', 'guard-spam-flag': 'off' });
    expect(await settingsOn({})).toEqual(await settingsOn(onDb));
    const status = json(await runMailbox(['status', '--json'], { home, env: onDb }));
    expect(status.accounts.find((a: { name: string }) => a.name === 'work-imap')).toMatchObject({ ok: true, summary: `${N + M} new` });
    expect(status.queue).toMatchObject({ waiting: 2, ready: 2 });
  });

  it('a runner on the database fetches nothing again, sends the queue, and reads only what is new', async () => {
    const url = await databases.fresh();
    expect((await runMailbox(['migrate-store', '--to', url], { home })).code).toBe(0);
    const onDb = { ...env, MAILBOX_DATABASE_URL: url };
    expect((await runMailbox(['activate', 'out'], { home, env: onDb })).code).toBe(0);
    const before = smtp.messages().length;
    const first = await runMailbox(['run', '--once', '--log-format', 'json'], { home, env: onDb });
    expect(first.code, first.stderr).toBe(0);
    const lines = first.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.find((l) => l.account === 'work-imap')).toMatchObject({ received: 0, duplicates: 0 });
    expect(lines.find((l) => l.account === 'work-pop')).toMatchObject({ received: 0, duplicates: 0 });
    expect(lines.find((l) => l.account === 'out')).toMatchObject({ sent: 2 });
    expect(smtp.messages().length - before).toBe(2);

    await dovecot.deliver('alice', 'Message-ID: <late@test>\r\nFrom: x@example.test\r\nSubject: late\r\n\r\nnew\r\n');
    const second = await runMailbox(['run', '--once', '--log-format', 'json'], { home, env: onDb });
    const next = second.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(next.find((l) => l.account === 'work-imap')).toMatchObject({ received: 1 });
    expect(next.find((l) => l.account === 'work-pop')).toMatchObject({ received: 1 });
  });

  it('refuses a database that is not migrated (78) and needs --to (64); no runner may hold the local store (75)', async () => {
    const empty = await databases.empty();
    const r = await runMailbox(['migrate-store', '--to', empty], { home });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('mailbox db migrate');
    expect((await runMailbox(['migrate-store'], { home })).code).toBe(64);
    const url = await databases.fresh();
    fs.writeFileSync(path.join(home, 'state', 'run.lock'), `${process.pid}\n`);
    try {
      const locked = await runMailbox(['migrate-store', '--to', url], { home });
      expect(locked.code).toBe(75);
      expect(locked.stderr).toContain(`pid ${process.pid}`);
    } finally {
      fs.rmSync(path.join(home, 'state', 'run.lock'));
    }
  });
});
