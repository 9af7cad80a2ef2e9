// The wizard driven through its real inquirer prompts (rendered to @inquirer/testing's screen).
import * as prompts from '@inquirer/prompts';
import { screen, wrapPrompt } from '@inquirer/testing/vitest';
import { describe, expect, it } from 'vitest';
import { parseAccount, type AccountView } from '../../src/core/account.js';
import { MailboxError } from '../../src/core/errors.js';
import { promptsPrompter } from '../../src/cli/prompter.js';
import { runAccountWizard, type WizardOptions } from '../../src/cli/wizard.js';
import type { Candidate } from '../../src/protocols/discovery/index.js';

// The real inquirer prompts, rendered to the shared test screen instead of a terminal.
const wrapped = {
  input: wrapPrompt(prompts.input),
  select: wrapPrompt(prompts.select),
  password: wrapPrompt(prompts.password),
  confirm: wrapPrompt(prompts.confirm),
} as typeof prompts;
const prompter = promptsPrompter(async () => wrapped, {});
const existing: AccountView = {
  ...parseAccount({ name: 'Taken', type: 'imap', host: 'imap.example.com', user: 'u', secret: { kind: 'env', name: 'PW' } }),
  provisioned: false,
};

const PRESENTED = Array(32).fill('C3').join(':');

function options(extra: Partial<WizardOptions> = {}): WizardOptions & { warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  return {
    prompter,
    input: {},
    given: new Set(),
    accounts: [existing],
    filters: [],
    acceptDefaults: false,
    probeKeychain: async () => undefined,
    fetchCertificate: async () => ({ fingerprint: PRESENTED, subject: 'CN=mail.example.com', issuer: 'CN=Example CA', expires: '2030-01-01T00:00:00.000Z' }),
    warn: (m) => warnings.push(m),
    info: (m) => infos.push(m),
    cwd: '/',
    warnings,
    infos,
    ...extra,
  };
}

/** The wizard's promise: once it settles, no further screen will come. */
let flow: Promise<unknown> = Promise.resolve();

function start<T>(promise: Promise<T>): Promise<T> {
  flow = promise.catch(() => undefined);
  return promise;
}

/** Types an answer (or just Enter for the default) and waits for the next screen or the end. */
async function answer(text: string | null, expectOnScreen?: RegExp): Promise<void> {
  if (expectOnScreen) expect(screen.getScreen()).toMatch(expectOnScreen);
  if (text) screen.type(text);
  screen.keypress('enter');
  await Promise.race([screen.next(), flow]);
}

/** Backspace n times (each re-renders at once, so there is no later screen to wait for). */
async function erase(n: number): Promise<void> {
  for (let i = 0; i < n; i++) screen.keypress('backspace');
  await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs the wizard of an incoming account whose connection fields the flags gave through the advanced
 * settings (defaults) to the certificate trust, moving `down` from the current choice (2: pin).
 */
async function untilTrust(o: WizardOptions, down: number): Promise<Awaited<ReturnType<typeof runAccountWizard>>> {
  const done = start(runAccountWizard(o));
  await screen.next();
  await answer('y', /advanced settings/);
  await answer(null, /Active/);
  await answer(null, /Delete messages/);
  await answer(null, /Largest message/);
  await answer(null, /Where received mail goes/);
  await answer(null, /debug/);
  for (let i = 0; i < down; i++) screen.keypress('down');
  await answer(null, /Certificate trust/);
  return done;
}

describe('add wizard', () => {
  it('asks every field with defaults, validates at the prompt, masks the password', async () => {
    const o = options();
    const done = start(runAccountWizard(o));
    await screen.next();
    await answer(null, /Account type[\s\S]*imap/); // default imap
    await answer('taken', /Account name/);
    expect(screen.getScreen()).toMatch(/an account named Taken already exists/);
    await erase(5);
    await answer('bad name!');
    expect(screen.getScreen()).toMatch(/invalid name "bad name!"/);
    await erase(9);
    await answer('work');
    await answer('bad_host', /Server host name/);
    expect(screen.getScreen()).toMatch(/invalid host "bad_host"/);
    await erase(8);
    await answer('IMAP.example.com');
    expect(screen.getScreen()).toMatch(/Connection security/);
    screen.keypress('down'); // starttls
    await answer(null);
    expect(screen.getScreen()).toMatch(/Port.*143/); // default follows type and security
    await answer('99999');
    expect(screen.getScreen()).toMatch(/1 to 65535/);
    await erase(5);
    await answer(null);
    await answer(null, /Authentication[\s\S]*password/);
    await answer('me@example.com', /User name/);
    await answer(null, /Password source[\s\S]*OS keychain/);
    expect(screen.getScreen()).toMatch(/^.*Password/);
    screen.type('p@ss w0rd"é');
    await new Promise((resolve) => setImmediate(resolve));
    expect(screen.getScreen()).not.toContain('p@ss');
    expect(screen.getScreen()).toContain('*'.repeat(11));
    await answer(null);
    await answer(null, /IMAP folder.*INBOX/);
    await answer(null, /advanced settings/); // default: no
    const result = await done;
    expect(result.secret).toEqual({ kind: 'keychain', secret: 'p@ss w0rd"é' });
    const account = parseAccount({ ...result.input, secret: { kind: 'keychain', key: 'work' } });
    expect(account).toMatchObject({ name: 'work', type: 'imap', host: 'imap.example.com', port: 143, security: 'starttls', user: 'me@example.com', folder: 'INBOX', active: true });
    expect(await screen.getFullOutput()).not.toContain('p@ss w0rd');
  });

  it('skips what flags gave; --yes takes the defaults and asks only what has none', async () => {
    const o = options({ input: { type: 'imap', name: 'in', host: 'imap.example.com' }, given: new Set(['type', 'name', 'host']), acceptDefaults: true });
    const done = start(runAccountWizard(o));
    await screen.next();
    await answer('ops@example.com', /User name/);
    await answer('secret', /Password/);
    const result = await done;
    expect(result.secret).toEqual({ kind: 'keychain', secret: 'secret' });
    expect(parseAccount({ ...result.input, secret: { kind: 'env', name: 'X' } })).toMatchObject({ port: 993, security: 'tls', auth: 'password', user: 'ops@example.com', folder: 'INBOX' });
  });

  it('a taken name given by a flag fails before the first question', async () => {
    const o = options({ input: { name: 'TAKEN' }, given: new Set(['name']) });
    await expect(runAccountWizard(o)).rejects.toMatchObject({ exitCode: 65, field: 'name' });
    expect(screen.getScreen()).toBe('');
  });

  it('--yes with an SMTP type, name and host only: a relay without login, nothing asked', async () => {
    const o = options({ input: { type: 'smtp', name: 'relay', host: 'smtp.example.com' }, given: new Set(['type', 'name', 'host']), acceptDefaults: true });
    const result = await runAccountWizard(o);
    expect(parseAccount(result.input)).toMatchObject({ auth: 'none', port: 465 });
    expect(screen.getScreen()).toBe('');
  });

  it('SMTP From: a name-addr is taken; empty is asked again when the user is not an address', async () => {
    const o = options({ input: { type: 'smtp', name: 'out', host: 'smtp.example.com', user: 'alice' }, given: new Set(['type', 'name', 'host', 'user']), secret: { kind: 'env', name: 'PW' } });
    const done = start(runAccountWizard(o));
    await screen.next();
    await answer(null, /Connection security/);
    await answer(null, /Port.*465/);
    await answer(null, /Authentication/);
    await answer(null, /From: an address, or Name <address>/);
    expect(screen.getScreen()).toMatch(/the user "alice" is not an address to send from/);
    await answer('Alice Smith <alice@example.com>');
    await answer(null, /advanced/);
    const result = await done;
    expect(parseAccount({ ...result.input, secret: { kind: 'env', name: 'PW' } })).toMatchObject({ from: 'Alice Smith <alice@example.com>', user: 'alice' });
  });

  it('--yes still asks the From of an SMTP account whose user is not an address (it has no default)', async () => {
    const o = options({ input: { type: 'smtp', name: 'out', host: 'smtp.example.com', user: 'alice' }, given: new Set(['type', 'name', 'host', 'user']), secret: { kind: 'env', name: 'PW' }, acceptDefaults: true });
    const done = start(runAccountWizard(o));
    await screen.next();
    await answer('alice@example.com', /From: an address/);
    expect(parseAccount({ ...(await done).input, secret: { kind: 'env', name: 'PW' } })).toMatchObject({ from: 'alice@example.com' });
  });

  it('an unavailable keychain is said, and another source is offered', async () => {
    const down = new MailboxError('EKEYCHAIN', 'the OS keychain is unavailable (no D-Bus)');
    const o = options({ input: { type: 'pop3', name: 'p', host: 'pop.example.com', user: 'u' }, given: new Set(['type', 'name', 'host', 'user']), acceptDefaults: true, probeKeychain: async () => down });
    const done = start(runAccountWizard(o));
    await screen.next();
    // --yes picked the keychain; it is down, so the wizard asks after all, without the keychain.
    expect(screen.getScreen()).toMatch(/Password source/);
    expect(screen.getScreen()).not.toMatch(/keychain/);
    await answer(null, /environment variable/);
    await answer('POP_PASSWORD', /Environment variable/);
    const result = await done;
    expect(result.secret).toEqual({ kind: 'env', name: 'POP_PASSWORD' });
    expect(o.warnings[0]).toMatch(/keychain is unavailable.*choose another source/);
  });

  it('a keychain that does not answer is found before the question: neither offered nor recommended, and the warning says how to get one (issue 9)', async () => {
    const down = new MailboxError('EKEYCHAIN', 'the OS keychain is unavailable (no D-Bus)', { hint: 'run mailbox in a D-Bus session with an unlocked keyring (dbus-run-session ...)' });
    const o = options({ input: { type: 'imap', name: 'i', host: 'imap.example.com', user: 'u' }, given: new Set(['type', 'name', 'host', 'user']), acceptDefaults: true, probeKeychain: async () => down });
    const done = start(runAccountWizard(o));
    await screen.next();
    expect(screen.getScreen()).toMatch(/Password source/);
    expect(screen.getScreen()).not.toMatch(/recommended|keychain/);
    screen.keypress('down'); // the command
    await answer(null);
    await answer('pass show mail/i', /Command/);
    expect((await done).secret).toEqual({ kind: 'command', command: 'pass show mail/i' });
    expect(o.warnings).toEqual([expect.stringMatching(/keychain is unavailable \(no D-Bus\): choose another source \(run mailbox in a D-Bus session.*dbus-run-session/)]);
  });

  it('the keychain is offered as recommended only when it answers', async () => {
    const o = options({ input: { type: 'imap', name: 'i', host: 'imap.example.com', user: 'u' }, given: new Set(['type', 'name', 'host', 'user']) });
    const done = start(runAccountWizard(o));
    await screen.next();
    await answer(null, /Connection security/);
    await answer(null, /Port/);
    await answer(null, /Authentication/);
    expect(screen.getScreen()).toMatch(/OS keychain \(recommended\)/);
    await answer(null);
    await answer('pw', /Password/);
    await answer(null, /IMAP folder/);
    await answer(null, /advanced settings/);
    expect((await done).secret).toEqual({ kind: 'keychain', secret: 'pw' });
  });

  it("the pin question shows the server's certificate and offers its fingerprint; a failed fetch says so", async () => {
    const fetched: unknown[] = [];
    const advanced = (o: ReturnType<typeof options>) => untilTrust(o, 2);
    const base = { input: { type: 'pop3', name: 'p', host: 'pop.example.com', port: 1995, user: 'u', security: 'starttls', auth: 'password' }, given: new Set(['type', 'name', 'host', 'port', 'user', 'security', 'auth']), secret: { kind: 'env', name: 'PW' } as const };
    const o = options({ ...base, fetchCertificate: async (target) => (fetched.push(target), { fingerprint: PRESENTED, subject: 'CN=pop.example.com', issuer: 'CN=Example CA', expires: '2030-01-01T00:00:00.000Z' }) });
    const done = advanced(o);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(screen.getScreen()).toContain(`SHA-256 fingerprint (${PRESENTED})`);
    await answer(null);
    expect((await done).input.tls).toEqual({ fingerprint: PRESENTED });
    expect(fetched).toEqual([{ name: 'p', type: 'pop3', host: 'pop.example.com', port: 1995, security: 'starttls' }]);
    expect(o.infos.join('\n')).toMatch(/pop\.example\.com:1995 presents CN=pop\.example\.com, issued by CN=Example CA, expires 2030-01-01[\s\S]*SHA-256 C3:C3/);

    const failing = options({ ...base, fetchCertificate: async () => Promise.reject(new Error('connection refused')) });
    const second = advanced(failing);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(screen.getScreen()).toMatch(/SHA-256 fingerprint\s*$/m);
    await answer('ab'.repeat(32));
    expect((await second).input.tls).toEqual({ fingerprint: Array(32).fill('AB').join(':') });
    expect(failing.warnings).toEqual([expect.stringContaining("could not fetch the server's certificate (connection refused)")]);
  });

  it('edit: the current pin stays the default, and the wizard says whether the server still presents it', async () => {
    const current = parseAccount({ name: 'p', type: 'pop3', host: 'pop.example.com', user: 'u', secret: { kind: 'env', name: 'PW' }, tls: { fingerprint: 'ab'.repeat(32) } });
    const o = options({ input: { ...current }, existing: current, given: new Set(['host', 'security', 'port', 'auth', 'user', 'password']), secret: { kind: 'env', name: 'PW' } });
    const done = untilTrust(o, 0); // the current choice: fingerprint
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(screen.getScreen()).toContain(`SHA-256 fingerprint (${current.tls.fingerprint})`);
    await answer(null);
    expect((await done).input.tls).toEqual({ fingerprint: current.tls.fingerprint });
    expect(o.infos).toContain(`it differs from the current pin ${current.tls.fingerprint}`);
  });

  it('oauth2: the profile is chosen, no secret is asked, the token store defaults to the keychain (a file when it is down)', async () => {
    const profiles = [{ name: 'm365', provider: 'microsoft' as const, clientId: 'cid' }];
    const o = options({ input: { type: 'imap', name: 'w', host: 'outlook.office365.com', user: 'me@contoso.com', auth: 'oauth2' }, given: new Set(['type', 'name', 'host', 'user', 'auth']), acceptDefaults: true, profiles });
    const done = start(runAccountWizard(o));
    await screen.next();
    expect(screen.getScreen()).toMatch(/OAuth 2.0 profile/);
    expect(screen.getScreen()).toMatch(/m365 \(microsoft, client cid\)/);
    await answer(null);
    const result = await done;
    expect(result.secret).toBeUndefined();
    expect(result.input).toMatchObject({ oauth: 'm365', auth: 'oauth2' });
    expect(result.input.tokenStore).toBeUndefined();
    expect(parseAccount(result.input)).toMatchObject({ oauth: 'm365' });

    const down = new MailboxError('EKEYCHAIN', 'the OS keychain is unavailable (no D-Bus)');
    const headless = options({ input: { type: 'imap', name: 'h', host: 'outlook.office365.com', security: 'tls', port: 993, folder: 'INBOX', user: 'me@contoso.com', auth: 'oauth2', oauth: 'm365' }, given: new Set(['type', 'name', 'host', 'security', 'port', 'folder', 'user', 'auth', 'oauth']), probeKeychain: async () => down, profiles });
    const second = start(runAccountWizard(headless));
    await screen.next();
    expect(screen.getScreen()).toMatch(/Where to keep the OAuth tokens/);
    expect(screen.getScreen()).toMatch(/not answering now/);
    await answer(null);
    await answer(null, /advanced settings/);
    expect((await second).input.tokenStore).toBe('file');
    expect(headless.warnings[0]).toMatch(/keychain is unavailable \(no D-Bus\): the tokens can live in a file/);
  });

  it('advanced settings: filter of the right direction, activation, deletion, size, trust', async () => {
    const filters = [
      { name: 'junk', direction: 'inbound' as const, allow: [], deny: ['spam.test'], default: false, provisioned: false },
      { name: 'outgoing', direction: 'outbound' as const, allow: [], deny: ['*'], default: false, provisioned: false },
    ];
    const o = options({ input: { type: 'pop3', name: 'p', host: 'pop.example.com', user: 'u' }, given: new Set(['type', 'name', 'host', 'user']), secret: { kind: 'env', name: 'PW' }, filters });
    const done = start(runAccountWizard(o));
    await screen.next();
    await answer(null, /Connection security/);
    await answer(null, /Port.*995/);
    await answer(null, /Authentication/);
    await answer('y', /advanced settings/);
    expect(screen.getScreen()).toMatch(/inbound address filter/);
    expect(screen.getScreen()).not.toMatch(/outgoing/);
    screen.keypress('down');
    await answer(null);
    await answer(null, /Active/);
    await answer('y', /Delete messages from the server/);
    await answer('10MB', /Largest message/);
    await answer(null, /Where received mail goes[\s\S]*store's inbox only/);
    await answer(null, /debug/);
    expect(screen.getScreen()).toMatch(/Certificate trust/);
    screen.keypress('down');
    screen.keypress('down');
    await answer(null);
    await answer('ab'.repeat(32), /SHA-256 fingerprint/);
    const result = await done;
    const account = parseAccount({ ...result.input, secret: { kind: 'env', name: 'PW' } });
    expect(account).toMatchObject({ filter: 'junk', deleteAfterDownload: true, maxMessageSize: 10 * 1024 * 1024, debug: false, tls: { fingerprint: expect.stringMatching(/^AB:AB/) } });
  });
});

describe('wizard: folders and destination (advanced settings)', () => {
  const imap = { input: { type: 'imap', name: 'i', host: 'imap.example.com', user: 'me@example.com' }, given: new Set(['type', 'name', 'host', 'user', 'active', 'filter', 'deleteAfterDownload', 'maxMessageSize', 'debug']), secret: { kind: 'env', name: 'PW' } as const };

  /** Through the questions before the advanced ones, Enter everywhere; then "yes" to the advanced settings. */
  async function toAdvanced(o: WizardOptions): Promise<void> {
    await screen.next();
    await answer(null, /Connection security/);
    await answer(null, /Port/);
    await answer(null, /Authentication/);
    await answer(null, /IMAP folder/);
    await answer('y', /advanced settings.*folders, destination/);
  }

  it('several IMAP folders (names and patterns, one left out) and an LMTP hand-off with its recipient, each checked at the prompt', async () => {
    const o = options(imap);
    const done = start(runAccountWizard(o));
    await toAdvanced(o);
    screen.keypress('down');
    await answer(null, /Folders to read[\s\S]*INBOX only/);
    expect(screen.getScreen()).toMatch(/Folders or patterns to read.*\(INBOX\)/);
    await answer(', INBOX, Support/*, Support/*');
    await answer('Support/Spam', /Folders to leave out/);
    for (let i = 0; i < 3; i++) screen.keypress('down');
    await answer(null, /Where received mail goes/);
    await answer('localhost', /LMTP server/);
    expect(screen.getScreen()).toMatch(/lmtp:HOST:PORT/);
    await erase(9);
    await answer('[::1]:24');
    await answer('nobody', /Recipient of the hand-off \(empty: me@example\.com\)/);
    expect(screen.getScreen()).toMatch(/an email address such as ops@example\.com/);
    await erase(6);
    await answer('ops@example.com');
    await answer(null, /Certificate trust/);
    const account = parseAccount({ ...(await done).input, secret: { kind: 'env', name: 'PW' } });
    expect(account).toMatchObject({ folder: 'INBOX', folders: ['INBOX', 'Support/*'], excludeFolders: ['Support/Spam'], deliver: 'lmtp:[::1]:24', deliverTo: 'ops@example.com' });
  });

  it('edit: the current folders and destination are the defaults; choosing "only" and "inbox" clears them', async () => {
    const current = parseAccount({ name: 'i', type: 'imap', host: 'imap.example.com', user: 'me', secret: { kind: 'env', name: 'PW' }, folders: ['Work/*'], excludeFolders: ['Work/Old'], deliver: 'mda:/usr/bin/procmail -d me' });
    const keep = options({ ...imap, input: { ...current }, existing: current, given: new Set([...imap.given, 'password']) });
    const kept = start(runAccountWizard(keep));
    await toAdvanced(keep);
    await answer(null, /Folders to read[\s\S]*❯ several/);
    await answer(null, /Folders or patterns to read.*\(Work\/\*\)/);
    await answer(null, /Folders to leave out.*\(Work\/Old\)/);
    await answer(null, /Where received mail goes[\s\S]*❯ also an MDA command/);
    await answer(null, /MDA command.*\(\/usr\/bin\/procmail -d me\)/);
    await answer(null, /Recipient of the hand-off/);
    await answer(null, /Certificate trust/);
    expect(parseAccount((await kept).input)).toEqual(current);

    const clear = options({ ...imap, input: { ...current }, existing: current, given: new Set([...imap.given, 'password']) });
    const cleared = start(runAccountWizard(clear));
    await toAdvanced(clear);
    screen.keypress('up');
    await answer(null, /Folders to read/);
    for (let i = 0; i < 2; i++) screen.keypress('up');
    await answer(null, /Where received mail goes/);
    await answer(null, /Certificate trust/);
    const account = parseAccount((await cleared).input);
    expect(account).not.toHaveProperty('folders');
    expect(account).not.toHaveProperty('excludeFolders');
    expect(account).not.toHaveProperty('deliver');
  });
});

describe('edit wizard', () => {
  it('is prefilled: Enter keeps every value, the secret is kept, a port that was the default follows security', async () => {
    const current = parseAccount({ name: 'mail', type: 'imap', host: 'imap.example.com', user: 'me', secret: { kind: 'keychain', key: 'mail' }, folder: 'Work' });
    const o = options({ input: { ...current }, existing: current });
    const done = start(runAccountWizard(o));
    await screen.next();
    await answer(null, /Server host name.*imap\.example\.com/);
    screen.keypress('down');
    await answer(null, /Connection security/);
    await answer(null, /Port.*143/);
    await answer(null, /Authentication/);
    await answer(null, /User name.*me/);
    await answer(null, /keep the current one \(keychain mailbox\/mail\)/);
    await answer(null, /IMAP folder.*Work/);
    await answer(null, /advanced/);
    const result = await done;
    expect(result.secret).toBeUndefined();
    expect(parseAccount(result.input)).toEqual({ ...current, security: 'starttls', port: 143 });
  });
});

describe('add wizard from the email address', () => {
  const found = (over: Partial<Candidate>): Candidate => ({
    type: 'imap', host: 'mail.example.com', port: 1993, security: 'tls', auth: 'password', oauthProvider: null, user: 'me',
    source: 'autoconfig', origin: 'https://autoconfig.example.com/mail/config-v1.1.xml', warnings: [], confirmedBy: [], verified: true, stages: [], error: null, ...over,
  });

  it('offers the verified servers; the chosen one is the default of every question after it', async () => {
    const asked: string[] = [];
    const o = options({ discover: async (address) => (asked.push(address), [found({}), found({ type: 'smtp', host: 'smtp.example.com', port: 465, user: 'me@example.com' })]) });
    const done = start(runAccountWizard(o));
    await screen.next();
    await answer('me@example.com', /Email address \(Enter alone: enter the servers by hand\)/);
    expect(asked).toEqual(['me@example.com']);
    expect(screen.getScreen()).toMatch(/Verified servers of me@example\.com[\s\S]*imap mail\.example\.com:1993 tls, auth password, user me \(from autoconfig\)[\s\S]*smtp smtp\.example\.com:465 tls[\s\S]*enter the servers by hand/);
    await answer(null);
    await answer(null, /Account name \(example\.com-imap\)/);
    await answer(null, /Server host name \(mail\.example\.com\)/);
    await answer(null, /Connection security/);
    await answer(null, /Port \(1993\)/);
    await answer(null, /Authentication/);
    await answer(null, /User name \(me\)/);
    await answer(null, /Password source/);
    await answer('pw', /Password/);
    await answer(null, /IMAP folder/);
    await answer(null, /Change advanced settings/);
    const result = await done;
    expect(parseAccount({ ...result.input, secret: { kind: 'env', name: 'X' } })).toMatchObject({ name: 'example.com-imap', type: 'imap', host: 'mail.example.com', port: 1993, security: 'tls', user: 'me' });
  });

  it('nothing verified: said, the servers are asked by hand, the address is the default user; a type given by a flag narrows the list', async () => {
    const none = options({ discover: async () => [] });
    const first = start(runAccountWizard(none));
    await screen.next();
    await answer('me@example.com', /Email address/);
    expect(none.warnings).toEqual(['no verified server found for me@example.com (mailbox discover me@example.com says why); enter the servers by hand']);
    await answer(null, /Account type/);
    await answer('w', /Account name/);
    await answer('mail.example.com', /Server host name/);
    await answer(null, /Connection security/);
    await answer(null, /Port/);
    await answer(null, /Authentication/);
    // The address typed first is the default login name, by hand too.
    expect(screen.getScreen()).toMatch(/User name \(me@example\.com\)/);
    screen.keypress({ name: 'c', ctrl: true });
    await first.catch(() => undefined);

    const typed = options({ input: { type: 'smtp' }, given: new Set(['type']), discover: async () => [found({}), found({ type: 'smtp', host: 'smtp.example.com', port: 465 })] });
    const second = start(runAccountWizard(typed));
    await screen.next();
    await answer('me@example.com', /Email address/);
    expect(screen.getScreen()).toMatch(/smtp smtp\.example\.com:465/);
    expect(screen.getScreen()).not.toMatch(/imap mail\.example\.com/);
    screen.keypress({ name: 'c', ctrl: true });
    await second.catch(() => undefined);
  });
});
