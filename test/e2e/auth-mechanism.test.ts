// --auth-mechanism (issue 9, "missing"): one flag on add and edit, checked against what the account's
// type can do, shown in list/show --json, kept through export and apply, cleared with
// --no-auth-mechanism; and honoured by `mailbox test` against Dovecot.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type Dovecot } from '../harness/index.js';
import { runMailbox, tmpHome } from '../helpers/cli.js';

let dovecot: Dovecot;
let home: string;
let cleanup: () => void;

beforeAll(async () => {
  dovecot = await startDovecot();
  ({ home, cleanup } = tmpHome('mbx-mech-'));
});
afterAll(async () => {
  await dovecot?.stop();
  cleanup?.();
});

const env = { PW: 'alice-secret' };
const pop = (...extra: string[]) => ['add', '--type', 'pop3', '--name', 'pop', '--host', dovecot.host, '--port', String(dovecot.pop3sPort), '--user', 'alice', '--password-env', 'PW', '--ca', dovecot.caFile, ...extra];

describe('--auth-mechanism', () => {
  it('add keeps it, test uses it, list shows it, edit clears it', async () => {
    const added = await runMailbox([...pop('--auth-mechanism', 'CRAM-MD5'), '--json'], { home, env });
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toContain('connection test of pop: ok');
    expect(JSON.parse(added.stdout).account).toMatchObject({ authMechanism: 'cram-md5' });
    const tested = JSON.parse((await runMailbox(['test', 'pop', '--json'], { home, env })).stdout)[0];
    expect(tested.stages.find((s: { name: string }) => s.name === 'login').data).toMatchObject({ mechanism: 'AUTH CRAM-MD5' });
    const exported = JSON.parse((await runMailbox(['export'], { home })).stdout);
    expect(exported.accounts[0]).toMatchObject({ authMechanism: 'cram-md5' });

    expect((await runMailbox(['edit', 'pop', '--no-auth-mechanism'], { home, env })).code).toBe(0);
    expect(JSON.parse((await runMailbox(['show', 'pop', '--json'], { home })).stdout)).toMatchObject({ authMechanism: null });
    const auto = JSON.parse((await runMailbox(['test', 'pop', '--json'], { home, env })).stdout)[0];
    expect(auto.stages.find((s: { name: string }) => s.name === 'login').data).toMatchObject({ mechanism: 'AUTH SCRAM-SHA-256' });
  });

  it('refuses (65) a mechanism the type cannot use, naming the field and what is accepted; nothing written', async () => {
    const before = fs.readFileSync(path.join(home, 'config.json'), 'utf8');
    const imap = await runMailbox(['add', '--type', 'imap', '--name', 'im', '--host', 'imap.example.com', '--user', 'u', '--password-env', 'PW', '--auth-mechanism', 'scram-sha-256', '--no-test'], { home });
    expect(imap.code).toBe(65);
    expect(imap.stderr).toContain('invalid auth-mechanism "scram-sha-256": expected one of plain, login, command for an imap account with auth password');
    const unknown = await runMailbox([...pop('--auth-mechanism', 'digest-md5'), '--no-test'], { home });
    expect(unknown.code).toBe(65);
    expect(unknown.stderr).toContain('invalid auth-mechanism "digest-md5"');
    const none = await runMailbox(['add', '--type', 'smtp', '--name', 'relay', '--host', 'relay.example.com', '--auth', 'none', '--auth-mechanism', 'plain', '--no-test'], { home });
    expect(none.code).toBe(65);
    expect(fs.readFileSync(path.join(home, 'config.json'), 'utf8')).toBe(before);
  });
});
