// The wizard of the real executable on a real pseudo-terminal (util-linux `script`), answered
// prompt by prompt as a person would, with the keychain of a real Secret Service.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noSecretServiceEnv, startSecretService, type SecretService } from '../harness/index.js';
import { baseEnv, BIN, readTree, runMailbox, tmpHome } from '../helpers/cli.js';
import { onTerminal } from '../helpers/pty.js';
import { DOWN, ENTER, Terminal } from '../helpers/terminal.js';

const exec = promisify(execFile);
const PASSWORD = 'pty-secret "x" é 42';

let ss: SecretService;
const { home, cleanup } = tmpHome();
beforeAll(async () => {
  ss = await startSecretService();
});
afterAll(async () => {
  await ss?.stop();
  cleanup();
});

/** The wizard on a terminal with this test's home and keychain. */
function terminal(args: string[]): Terminal {
  return new Terminal(args, { ...ss.env, MAILBOX_HOME: home });
}

async function keychainEntry(key: string): Promise<string | null> {
  try {
    return (await exec('secret-tool', ['lookup', 'service', 'mailbox', 'username', key], { env: { ...process.env, ...ss.env } })).stdout;
  } catch {
    return null;
  }
}

function config(): any {
  return JSON.parse(fs.readFileSync(path.join(home, 'config.json'), 'utf8'));
}

describe('wizard on a terminal', () => {
  it('add: asks each field with defaults, re-asks a bad value, masks the password, stores it in the keychain', async () => {
    const t = terminal(['add', '--no-test']);
    await t.answer('Email address (Enter alone: enter the servers by hand)', ENTER);
    await t.answer('Account type', ENTER);
    await t.answer('Account name', `pty-work${ENTER}`);
    await t.answer('Server host name', `bad_host${ENTER}`);
    await t.answer('invalid host "bad_host"', '\u007f'.repeat(8) + `imap.example.com${ENTER}`);
    await t.answer('Connection security', ENTER);
    await t.answer('Port (993)', ENTER);
    await t.answer('Authentication', ENTER);
    await t.answer('User name', `me@example.com${ENTER}`);
    await t.answer('Password source', ENTER);
    await t.answer(/Password\s*$/m, `${PASSWORD}${ENTER}`);
    await t.answer('IMAP folder (INBOX)', ENTER);
    await t.answer('Change advanced settings', ENTER);
    expect(await t.close()).toBe(0);
    expect(t.transcript).toContain('added imap account pty-work (active)');
    expect(t.transcript).not.toContain(PASSWORD);
    expect(config().accounts[0]).toMatchObject({
      name: 'pty-work', host: 'imap.example.com', port: 993, security: 'tls', user: 'me@example.com', folder: 'INBOX',
      secret: { kind: 'keychain', service: 'mailbox', key: 'pty-work' },
    });
    expect(await keychainEntry('pty-work')).toBe(PASSWORD);
    expect(readTree(home)).not.toContain('pty-secret');
  });

  it('edit with no flags: the wizard, prefilled; Enter keeps a value, the secret is kept', async () => {
    const t = terminal(['edit', 'pty-work', '--no-test']);
    await t.answer('Server host name (imap.example.com)', ENTER);
    await t.answer('Connection security', `${DOWN}${ENTER}`);
    await t.answer('Port (143)', ENTER);
    await t.answer('Authentication', ENTER);
    await t.answer('User name (me@example.com)', ENTER);
    await t.answer('keep the current one (keychain mailbox/pty-work)', ENTER);
    await t.answer('IMAP folder (INBOX)', `Archive${ENTER}`);
    await t.answer('Change advanced settings', ENTER);
    expect(await t.close()).toBe(0);
    expect(t.transcript).toMatch(/updated imap account pty-work \(active\): folder, port, security/);
    expect(t.transcript).toMatch(/warning: account pty-work: security starttls/);
    expect(config().accounts[0]).toMatchObject({ port: 143, security: 'starttls', folder: 'Archive', secret: { kind: 'keychain', key: 'pty-work' } });
    expect(await keychainEntry('pty-work')).toBe(PASSWORD);
  });

  it('a secret from an environment variable that is not set: the answers are kept, "save anyway?" is asked (issue 9.3)', async () => {
    // --host given: the wizard asks neither the server nor (where it starts from an address) the address.
    const answerAll = async (t: Terminal, name: string) => {
      await t.answer('Account type', ENTER);
      await t.answer('Account name', `${name}${ENTER}`);
      await t.answer('Connection security', ENTER);
      await t.answer('Port (993)', ENTER);
      await t.answer('Authentication', ENTER);
      await t.answer('User name', `me@example.com${ENTER}`);
      await t.answer('Password source', `${DOWN}${ENTER}`);
      await t.answer('Environment variable', `UNSET_PW${ENTER}`);
      await t.answer('IMAP folder (INBOX)', ENTER);
      await t.answer('Change advanced settings', ENTER);
    };
    const no = terminal(['add', '--host', 'imap.example.com']);
    await answerAll(no, 'env-no');
    await no.answer('Save the account anyway?', `n${ENTER}`);
    expect(await no.close()).toBe(78);
    expect(no.transcript).toContain('environment variable UNSET_PW is not set');
    expect(no.transcript).toContain('account env-no was not saved');
    expect(config().accounts.map((a: { name: string }) => a.name)).not.toContain('env-no');

    const yes = terminal(['add', '--host', 'imap.example.com']);
    await answerAll(yes, 'env-yes');
    await yes.answer('Save the account anyway?', `y${ENTER}`);
    expect(await yes.close()).toBe(0);
    expect(yes.transcript).toContain('added imap account env-yes');
    expect(config().accounts.find((a: { name: string }) => a.name === 'env-yes')).toMatchObject({ secret: { kind: 'env', name: 'UNSET_PW' } });
    expect((await runMailbox(['remove', 'env-yes', '--yes'], { home, env: { ...ss.env } })).code).toBe(0);
  });

  it('Ctrl-C at a prompt cancels: exit 130, nothing saved', async () => {
    const before = fs.readFileSync(path.join(home, 'config.json'));
    const t = terminal(['add']);
    await t.answer('Email address', ENTER);
    await t.answer('Account type', ENTER);
    await t.answer('Account name', '\u0003');
    expect(await t.close()).toBe(130);
    expect(t.transcript).toContain('cancelled; nothing was saved');
    expect(fs.readFileSync(path.join(home, 'config.json')).equals(before)).toBe(true);
  });

  it('remove asks for confirmation; "n" keeps the account, "y" removes it with its keychain entry', async () => {
    const keep = terminal(['remove', 'pty-work']);
    await keep.answer('Remove imap account pty-work and its keychain entry mailbox/pty-work? (y/N)', `n${ENTER}`);
    expect(await keep.close()).toBe(0);
    expect(config().accounts).toHaveLength(1);
    const t = terminal(['remove', 'pty-work']);
    await t.answer('Remove imap account pty-work', `y${ENTER}`);
    expect(await t.close()).toBe(0);
    expect(t.transcript).toContain('removed imap account pty-work and its keychain entry');
    expect(config().accounts).toEqual([]);
    expect(await keychainEntry('pty-work')).toBeNull();
  });

  it('edit --auth none asks before it deletes the stored password; "n" changes nothing (issue 9)', async () => {
    const env = { ...ss.env };
    const added = await runMailbox(['add', '--type', 'smtp', '--name', 'relay', '--host', 'smtp.example.com', '--user', 'me@example.com', '--password-stdin', '--no-test'], { home, env, input: PASSWORD });
    expect(added.code).toBe(0);
    const keep = terminal(['edit', 'relay', '--auth', 'none', '--no-test']);
    await keep.answer('Authentication none for relay deletes its password (keychain entry mailbox/relay). Go on? (y/N)', `n${ENTER}`);
    expect(await keep.close()).toBe(0);
    expect(keep.transcript).toContain('account relay: nothing to change');
    expect(await keychainEntry('relay')).toBe(PASSWORD);
    expect(config().accounts.find((a: { name: string }) => a.name === 'relay')).toMatchObject({ auth: 'password' });

    const drop = terminal(['edit', 'relay', '--auth', 'none', '--no-test']);
    await drop.answer('Go on?', `y${ENTER}`);
    expect(await drop.close()).toBe(0);
    expect(drop.transcript).toContain('account relay: deleted its keychain entry mailbox/relay (no longer used)');
    expect(await keychainEntry('relay')).toBeNull();
    expect((await runMailbox(['remove', 'relay', '--yes'], { home, env })).code).toBe(0);
  });

  it('without a keychain the wizard says so before the question, with the commands to get one, and does not offer it (issue 9)', async () => {
    const r = await onTerminal(['add', '--host', 'imap.example.com'], {
      home,
      env: noSecretServiceEnv(),
      answers: [
        ['Account type', ENTER],
        ['Account name', `headless${ENTER}`],
        ['Connection security', ENTER],
        ['Port (993)', ENTER],
        ['Authentication', ENTER],
        ['User name', `me${ENTER}`],
        ['Password source', '\u0003'],
      ],
    });
    expect(r.code).toBe(130);
    const menu = r.screen.slice(r.screen.lastIndexOf('Password source'));
    expect(menu).toContain('read an environment variable at use time');
    expect(menu).not.toContain('keychain');
    expect(r.screen).toMatch(/warning: the OS keychain is unavailable \(.*\): choose another source \(on a headless Linux machine, run mailbox in a D-Bus session with an unlocked keyring \(dbus-run-session -- sh -c/);
    expect(r.screen).toContain('gnome-keyring-daemon --unlock');
  });
});
