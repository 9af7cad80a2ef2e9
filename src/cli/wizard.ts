// The account wizard: asks, on a terminal, for whatever the flags did not give. Every answer is
// checked by the same validators the flags go through, at the prompt, so a typo is fixed in place.
import {
  ACCOUNT_TYPES,
  defaultPort,
  isIncoming,
  parseCommand,
  parseEnvName,
  parseFolder,
  parseFromFor,
  parseHost,
  parseName,
  parseUser,
  SECURITIES,
  type Account,
  type AccountInput,
  type AccountType,
  type AccountView,
  type AuthMethod,
  type Security,
  type TlsTrust,
} from '../core/account.js';
import type { MailboxError } from '../core/errors.js';
import { destinationText, parseDestination } from '../core/destination.js';
import type { AddressFilter } from '../core/filter.js';
import type { OAuthProfile, TokenStoreKind } from '../core/oauth.js';
import { assertNameFree, directionOf } from '../core/rules.js';
import { isAddress, oneOf, parseFingerprint, parsePort, parseSize } from '../core/validate.js';
import type { SecretChoice } from '../jobs/accounts/secret-choice.js';
import type { AccountsSnapshot } from '../jobs/accounts/stores.js';
import type { Candidate } from '../protocols/discovery/index.js';
import { checkCaFile } from '../store/ca-file.js';
import { secretJson } from './account-json.js';
import { fetchServerCertificate, type CertificateTarget, type ServerCertificate } from './server-certificate.js';
import { effectiveAuth } from './account-flags.js';
import type { Context } from './context.js';
import { applyCandidate, candidateTitle, parseDiscoverAddress, runDiscovery, suggestedName } from './discovery-view.js';
import { dnsOf } from './network.js';
import type { Choice, Prompter, Validate } from './prompter.js';

export interface WizardOptions {
  prompter: Prompter;
  /** What the flags gave (and, for edit, the account's current values), before any question. */
  input: AccountInput;
  /** Fields the flags gave: never asked. */
  given: ReadonlySet<string>;
  /** The secret source the flags gave, if any. `stdin` asks for the password masked instead. */
  secret?: SecretChoice | 'stdin';
  /** Edit: the account being changed (type and name fixed, its secret can be kept). */
  existing?: Account;
  accounts: readonly AccountView[];
  filters: readonly AddressFilter[];
  /** --yes: take every default without asking; still asks what has no default. */
  acceptDefaults: boolean;
  probeKeychain: () => Promise<MailboxError | undefined>;
  /** The certificate the server presents (not trusted: shown so that the user can pin it). */
  fetchCertificate: (account: CertificateTarget) => Promise<ServerCertificate>;
  warn: (message: string) => void;
  /** A line of information between questions (stderr). */
  info: (message: string) => void;
  cwd: string;
  /** The OAuth 2.0 profiles an oauth2 account can name. */
  profiles?: readonly OAuthProfile[];
  /** Add: the verified servers of an address, best first; the wizard starts from the address. */
  discover?: (address: string, type?: AccountType) => Promise<Candidate[]>;
}

export interface WizardResult {
  input: AccountInput;
  /** undefined: keep the existing secret (edit) or none needed. */
  secret?: SecretChoice;
}

/**
 * Turns a throwing parser into an inquirer validator: true, or the error's message. Synchronous
 * parsers give a synchronous answer (no "validating..." frame); promises are awaited.
 */
function validator(parse: (value: string) => unknown): Validate {
  const message = (err: unknown) => (err as Error).message;
  return (value) => {
    try {
      const result = parse(value);
      if (result instanceof Promise) return result.then(() => true as const, message);
      return true;
    } catch (err) {
      return message(err);
    }
  };
}

const SECURITY_CHOICES: Choice<Security>[] = [
  { value: 'tls', name: 'tls (SSL/TLS from the first byte, recommended)' },
  { value: 'starttls', name: 'starttls (starts plain, encrypted after STARTTLS before the login)' },
  { value: 'none', name: 'none (no encryption: exposes data and passwords)' },
];

export async function runAccountWizard(o: WizardOptions): Promise<WizardResult> {
  const p = o.prompter;
  const input: AccountInput = { ...o.input, tls: { ...((o.input.tls as TlsTrust | undefined) ?? {}) } };
  const tls = input.tls as TlsTrust;
  const given = (field: string) => o.given.has(field);
  /** Asks unless given by a flag, or --yes and there is a default. */
  const ask = (field: string, hasDefault: boolean) => !given(field) && !(o.acceptDefaults && hasDefault);
  // A name the flags gave is checked before the first question, as a typed one is at its prompt.
  if (given('name') && !o.existing) assertNameFree(o.accounts, parseName(input.name));

  const discovered = !o.existing && !o.acceptDefaults && input.host === undefined && (await startFromAddress(o, input));
  if (ask('type', false) && !o.existing && !discovered) {
    input.type = await p.select<AccountType>({
      message: 'Account type',
      choices: [
        { value: 'imap', name: 'imap (incoming: read a mailbox folder)' },
        { value: 'pop3', name: 'pop3 (incoming: download and optionally delete)' },
        { value: 'smtp', name: 'smtp (outgoing: send queued mail)' },
      ],
      default: (input.type as AccountType | undefined) ?? 'imap',
    });
  }
  const type = oneOf(input.type, 'type', ACCOUNT_TYPES);
  input.type = type;

  if (ask('name', false) && !o.existing) {
    input.name = await p.input({
      message: 'Account name',
      default: str(input.name),
      validate: validator((v) => assertNameFree(o.accounts, parseName(v))),
    });
  }
  if (ask('host', Boolean(input.host))) {
    input.host = await p.input({ message: 'Server host name', default: str(input.host), validate: validator(parseHost) });
  }
  const before = input.security === undefined ? 'tls' : oneOf(input.security, 'security', SECURITIES);
  if (ask('security', true)) {
    input.security = await p.select<Security>({ message: 'Connection security', choices: SECURITY_CHOICES, default: before });
  }
  const security = input.security === undefined ? 'tls' : oneOf(input.security, 'security', SECURITIES);
  // A port that was the old security's default follows the new security.
  if (!given('port') && security !== before && Number(input.port) === defaultPort(type, before)) input.port = undefined;
  if (ask('port', true)) {
    const current = input.port === undefined ? defaultPort(type, security) : Number(input.port);
    input.port = await p.input({ message: 'Port', default: String(current), validate: validator(parsePort) });
  }

  const secretGiven = o.secret !== undefined;
  if (ask('auth', true)) {
    const choices: Choice<AuthMethod>[] = [
      { value: 'password', name: 'password' },
      { value: 'oauth2', name: 'oauth2 (OAuth 2.0: Microsoft 365, Google; authorized in the browser or with a code)' },
    ];
    if (type === 'smtp' && !secretGiven) choices.push({ value: 'none', name: 'none (relay without login)' });
    input.auth = await p.select<AuthMethod>({ message: 'Authentication', choices, default: (input.auth as AuthMethod | undefined) ?? 'password' });
  } else if (input.auth === undefined) {
    input.auth = effectiveAuth(input, o.secret);
  }
  const auth = input.auth as AuthMethod;

  let secret: SecretChoice | undefined;
  if (auth !== 'none') {
    if (ask('user', Boolean(input.user))) {
      input.user = await p.input({ message: 'User name', default: str(input.user), validate: validator(parseUser) });
    }
    const oauth = auth === 'oauth2' && !secretGiven ? await askOAuth(o, input, ask) : false;
    if (!oauth) secret = await askSecret(o, auth);
  }

  // --yes asks the From only when there is no default: a user that is not an address gives none.
  if (type === 'smtp' && ask('from', str(input.from) !== undefined || !str(input.user) || isAddress(String(input.user)))) {
    const user = str(input.user);
    const fallback = str(input.from) ?? (user && isAddress(user) ? user : undefined);
    const from = await p.input({
      message: 'From: an address, or Name <address> (empty: the user name when it is an address)',
      default: fallback,
      validate: validator((v) => parseFromFor(v, user) ?? true),
    });
    input.from = from.trim() || undefined;
  }
  if (type === 'imap' && ask('folder', true)) {
    input.folder = await p.input({ message: 'IMAP folder', default: str(input.folder) ?? 'INBOX', validate: validator((v) => parseFolder(v)) });
  }

  if (!o.acceptDefaults && (await p.confirm({ message: 'Change advanced settings (filter, activation, download, folders, destination, debug, certificate trust)?', default: false }))) {
    await askAdvanced(o, input, type, security, tls);
  }
  return { input, secret };
}

const FETCHED = '.fetched-elsewhere';

/**
 * OAuth 2.0: the profile to authorize with (the tokens come from mailbox authorize, no secret asked),
 * and where its tokens are kept; or an access token fetched by another tool, from a secret source.
 * Returns false for the latter.
 */
async function askOAuth(o: WizardOptions, input: AccountInput, ask: (field: string, hasDefault: boolean) => boolean): Promise<boolean> {
  const p = o.prompter;
  const profiles = o.profiles ?? [];
  if (ask('oauth', Boolean(input.oauth))) {
    if (profiles.length === 0) o.warn('no OAuth profiles yet: mailbox oauth add NAME --provider microsoft|google|generic --client-id ID creates one (then mailbox edit NAME --oauth PROFILE)');
    const choice = await p.select<string>({
      message: 'OAuth 2.0 profile',
      choices: [
        ...profiles.map((pr) => ({ value: pr.name, name: `${pr.name} (${pr.provider}, client ${pr.clientId})` })),
        { value: FETCHED, name: 'none: an access token fetched by another tool, from a secret source' },
      ],
      default: str(input.oauth) ?? profiles[0]?.name ?? FETCHED,
    });
    input.oauth = choice === FETCHED ? undefined : choice;
  }
  if (!input.oauth) {
    input.tokenStore = undefined;
    return false;
  }
  input.secret = undefined;
  if (ask('tokenStore', true)) {
    const down = await o.probeKeychain();
    if (down) o.warn(`${down.message}: the tokens can live in a file under the state folder instead (mode 0600; encrypted when MAILBOX_TOKEN_KEY is set)`);
    input.tokenStore = await p.select<TokenStoreKind>({
      message: 'Where to keep the OAuth tokens',
      choices: [
        { value: 'keychain', name: `the OS keychain${down ? ' (not answering now)' : ' (recommended)'}` },
        { value: 'file', name: 'a file under the state folder (headless servers; encrypted with MAILBOX_TOKEN_KEY)' },
      ],
      default: (str(input.tokenStore) as TokenStoreKind | undefined) ?? (down ? 'file' : 'keychain'),
    });
    if (input.tokenStore === 'keychain') input.tokenStore = undefined;
  }
  return true;
}

const BY_HAND = 'by-hand';

/**
 * The address first: its verified servers are offered, the best one preselected; whatever is
 * chosen becomes the defaults of the questions that follow (every value still editable). Enter
 * alone at the address, or "e" in the list, is the way to enter the servers by hand.
 */
async function startFromAddress(o: WizardOptions, input: AccountInput): Promise<boolean> {
  if (!o.discover) return false;
  const p = o.prompter;
  const address = (await p.input({ message: 'Email address (Enter alone: enter the servers by hand)', validate: validator((v) => v.trim() === '' || parseDiscoverAddress(v)) })).trim();
  if (!address) return false;
  // By hand or not, the address is the likeliest login name.
  if (!o.given.has('user')) input.user ??= address;
  const type = input.type === undefined ? undefined : oneOf(input.type, 'type', ACCOUNT_TYPES);
  const found = (await o.discover(address, type)).filter((c) => !type || c.type === type);
  if (found.length === 0) {
    o.warn(`no verified server found for ${address} (mailbox discover ${address} says why); enter the servers by hand`);
    return false;
  }
  const choice = await p.select<string>({
    message: `Verified servers of ${address}`,
    choices: [
      ...found.map((c, i) => ({ value: String(i), name: `${candidateTitle(c)}, auth ${c.auth}, user ${c.user} (from ${c.source})` })),
      { value: BY_HAND, name: 'enter the servers by hand' },
    ],
    default: '0',
  });
  if (choice === BY_HAND) return false;
  const chosen = found[Number(choice)]!;
  applyCandidate(input, chosen, o.given);
  if (!o.given.has('name')) input.name = suggestedName(address, chosen.type);
  return true;
}

function str(value: unknown): string | undefined {
  return value === undefined || value === null || value === '' ? undefined : String(value);
}

function fail(accepted: string): never {
  throw new Error(`expected ${accepted}`);
}

async function askSecret(o: WizardOptions, auth: AuthMethod): Promise<SecretChoice | undefined> {
  const p = o.prompter;
  const what = auth === 'oauth2' ? 'OAuth 2.0 access token' : 'Password';
  const askValue = () => p.password({ message: what, validate: validator((v) => v !== '' || fail(`a non-empty ${what.toLowerCase()}`)) });
  if (o.secret === 'stdin') return { kind: 'keychain', secret: await askValue() };
  if (o.secret) return o.secret;

  type Source = 'keep' | 'keychain' | 'env' | 'command';
  const current = o.existing?.secret;
  // Asked before the keychain is offered: one that does not answer is neither offered nor recommended.
  const keychainDown = await o.probeKeychain();
  if (keychainDown) o.warn(`${keychainDown.message}: choose another source${keychainDown.hint ? ` (${keychainDown.hint})` : ''}`);
  const choices: Choice<Source>[] = [];
  if (current) {
    const s = secretJson(current);
    choices.push({ value: 'keep', name: `keep the current one (${s.kind} ${s.ref})` });
  }
  if (!keychainDown) choices.push({ value: 'keychain', name: 'type it now; kept in the OS keychain (recommended)' });
  choices.push({ value: 'env', name: 'read an environment variable at use time' });
  choices.push({ value: 'command', name: 'run a command that prints it (e.g. pass show mail/work)' });
  // --yes takes the first choice when it needs no more answers: keep, or the keychain.
  const takeDefault = o.acceptDefaults && (choices[0]!.value === 'keep' || choices[0]!.value === 'keychain');
  const source = takeDefault ? choices[0]!.value : await p.select<Source>({ message: `${what} source`, choices, default: choices[0]!.value });
  if (source === 'keep') return undefined;
  if (source === 'env') {
    const name = await p.input({ message: 'Environment variable', default: current?.kind === 'env' ? current.name : undefined, validate: validator(parseEnvName) });
    return { kind: 'env', name: parseEnvName(name) };
  }
  if (source === 'command') {
    const command = await p.input({
      message: 'Command',
      default: current?.kind === 'command' ? current.command : undefined,
      validate: validator((v) => parseCommand(v)),
    });
    return { kind: 'command', command };
  }
  return { kind: 'keychain', secret: await askValue() };
}

async function askAdvanced(o: WizardOptions, input: AccountInput, type: AccountType, security: Security, tls: TlsTrust): Promise<void> {
  const p = o.prompter;
  const direction = directionOf(type);
  const usable = o.filters.filter((f) => f.direction === direction);
  if (!o.given.has('filter') && usable.length > 0) {
    const fallback = usable.find((f) => f.default);
    const choice = await p.select<string>({
      message: `${direction} address filter`,
      choices: [
        { value: '', name: fallback ? `the default (${fallback.name})` : 'none' },
        ...usable.map((f) => ({ value: f.name, name: `${f.name} (allow ${f.allow.length}, deny ${f.deny.length})` })),
      ],
      default: str(input.filter) ?? '',
    });
    input.filter = choice || undefined;
  }
  if (!o.given.has('active')) {
    const others = type === 'smtp' ? o.accounts.filter((a) => a.type === 'smtp' && a.active && a.name !== input.name).map((a) => a.name) : [];
    input.active = await p.confirm({
      message: others.length ? `Make it the active SMTP account (switches off ${others.join(', ')})?` : 'Active (used by mailbox run)?',
      default: input.active === undefined ? true : Boolean(input.active),
    });
  }
  if (isIncoming(type)) {
    if (!o.given.has('deleteAfterDownload')) {
      input.deleteAfterDownload = await p.confirm({ message: 'Delete messages from the server once stored locally?', default: Boolean(input.deleteAfterDownload) });
    }
    if (!o.given.has('maxMessageSize')) {
      const size = await p.input({
        message: 'Largest message to download (512k, 10MB; empty: no limit)',
        default: str(input.maxMessageSize),
        validate: validator((v) => v.trim() === '' || parseSize(v, 'max-size')),
      });
      input.maxMessageSize = size.trim() || undefined;
    }
    if (type === 'imap' && !o.given.has('folders') && !(o.given.has('folder') && input.folders)) await askFolders(p, input);
    if (!o.given.has('deliver')) await askDestination(p, input, o.given.has('deliverTo'));
  }
  if (!o.given.has('debug')) {
    input.debug = await p.confirm({ message: 'Log the raw protocol exchange (debug; secrets redacted)?', default: Boolean(input.debug) });
  }
  if (security !== 'none' && !['ca', 'fingerprint', 'insecure'].some((field) => o.given.has(field))) {
    type Trust = 'system' | 'ca' | 'fingerprint' | 'insecure';
    const current: Trust = tls.ca ? 'ca' : tls.fingerprint ? 'fingerprint' : tls.insecure ? 'insecure' : 'system';
    const trust = await p.select<Trust>({
      message: 'Certificate trust',
      choices: [
        { value: 'system', name: "the system's certificate authorities" },
        { value: 'ca', name: 'also an extra CA certificate (PEM file)' },
        { value: 'fingerprint', name: "pin the server certificate's SHA-256 fingerprint" },
        { value: 'insecure', name: 'insecure: no verification (anyone on the path can read and change the connection)' },
      ],
      default: current,
    });
    delete tls.ca;
    delete tls.fingerprint;
    delete tls.insecure;
    if (trust === 'ca') {
      const file = await p.input({ message: 'CA certificate file', default: o.existing?.tls.ca, validate: validator((v) => checkCaFile(v, o.cwd)) });
      tls.ca = await checkCaFile(file, o.cwd);
    } else if (trust === 'fingerprint') {
      // An existing pin stays the default: Enter must never swap it for whatever answers now.
      const pinned = o.existing?.tls.fingerprint;
      const presented = await serverFingerprint(o, input, type, security, pinned);
      const pin = await p.input({ message: 'SHA-256 fingerprint', default: pinned ?? presented, validate: validator((v) => parseFingerprint(v)) });
      tls.fingerprint = parseFingerprint(pin);
    } else if (trust === 'insecure') {
      tls.insecure = true;
    }
  }
}

/** Folder names or LIST patterns, comma separated at the prompt (a name with a comma takes --folder). */
function folderList(text: string, field: string): string[] {
  return [...new Set(text.split(',').map((v) => v.trim()).filter(Boolean).map((v) => parseFolder(v, field)))];
}

/** IMAP: the one folder asked before, or several (names or patterns), some left out. */
async function askFolders(p: Prompter, input: AccountInput): Promise<void> {
  const folder = str(input.folder) ?? 'INBOX';
  const current = Array.isArray(input.folders) ? (input.folders as string[]) : [];
  const choice = await p.select<'one' | 'several'>({
    message: 'Folders to read',
    choices: [
      { value: 'one', name: `${folder} only` },
      { value: 'several', name: 'several: names or LIST patterns (* anything, % one level), e.g. INBOX, Support/*' },
    ],
    default: current.length > 0 ? 'several' : 'one',
  });
  if (choice === 'one') {
    input.folders = undefined;
    input.excludeFolders = undefined;
    return;
  }
  const read = await p.input({
    message: 'Folders or patterns to read, separated by commas',
    default: (current.length ? current : [folder]).join(', '),
    validate: validator((v) => folderList(v, 'folders').length > 0 || fail('at least one folder name or pattern')),
  });
  input.folders = folderList(read, 'folders');
  const excluded = Array.isArray(input.excludeFolders) ? (input.excludeFolders as string[]) : [];
  const left = await p.input({
    message: 'Folders to leave out, separated by commas (empty: none)',
    default: excluded.join(', ') || undefined,
    validate: validator((v) => folderList(v, 'exclude-folder')),
  });
  const out = folderList(left, 'exclude-folder');
  input.excludeFolders = out.length ? out : undefined;
}

type DestinationKind = 'inbox' | 'maildir' | 'mda' | 'lmtp';

/** Where received mail goes once stored: the store's inbox, or a hand-off (validated as --deliver is). */
async function askDestination(p: Prompter, input: AccountInput, deliverToGiven: boolean): Promise<void> {
  const current = str(input.deliver);
  const kind = (current?.split(':')[0]?.toLowerCase() ?? 'inbox') as DestinationKind;
  const chosen = await p.select<DestinationKind>({
    message: 'Where received mail goes once stored',
    choices: [
      { value: 'inbox', name: "the store's inbox only" },
      { value: 'maildir', name: 'also another Maildir (maildir:/PATH)' },
      { value: 'mda', name: 'also an MDA command, the message on its standard input (procmail, maildrop, dovecot-lda)' },
      { value: 'lmtp', name: 'also an LMTP server (HOST:PORT or unix:/PATH)' },
    ],
    default: kind,
  });
  if (chosen === 'inbox') {
    input.deliver = undefined;
    input.deliverTo = undefined;
    return;
  }
  const what = { maildir: 'Maildir folder (an absolute path)', mda: 'MDA command (run by /bin/sh)', lmtp: 'LMTP server: HOST:PORT or unix:/PATH' }[chosen];
  const value = await p.input({
    message: what,
    default: current && kind === chosen ? current.slice(chosen.length + 1) : undefined,
    validate: validator((v) => parseDestination(`${chosen}:${v}`, 'deliver')),
  });
  input.deliver = destinationText(parseDestination(`${chosen}:${value}`, 'deliver'));
  if (chosen === 'maildir' || deliverToGiven) return;
  const user = str(input.user);
  const to = await p.input({
    message: `Recipient of the hand-off (empty: ${user && isAddress(user) ? user : 'the user name'})`,
    default: str(input.deliverTo),
    validate: validator((v) => v.trim() === '' || isAddress(v.trim()) || fail('an email address such as ops@example.com')),
  });
  input.deliverTo = to.trim() || undefined;
}

/**
 * The fingerprint of the certificate the server presents now, shown before the pin is asked for and
 * offered as its default. Fetched without trusting it: the user compares it with one known to be
 * right before pinning it.
 */
async function serverFingerprint(o: WizardOptions, input: AccountInput, type: AccountType, security: Security, pinned: string | undefined): Promise<string | undefined> {
  const target: CertificateTarget = { name: str(input.name) ?? 'new', type, host: parseHost(input.host), port: input.port === undefined ? defaultPort(type, security) : parsePort(input.port), security };
  o.info(`fetching the certificate of ${target.host}:${target.port}...`);
  try {
    const cert = await o.fetchCertificate(target);
    o.info(`${target.host}:${target.port} presents ${cert.subject}, issued by ${cert.issuer}, expires ${cert.expires.slice(0, 10)}`);
    o.info(`SHA-256 ${cert.fingerprint}`);
    if (pinned) o.info(pinned === cert.fingerprint ? 'it matches the current pin' : `it differs from the current pin ${pinned}`);
    else o.info('pin it only if it matches the fingerprint your administrator or provider gives you');
    return cert.fingerprint;
  } catch (err) {
    o.warn(`could not fetch the server's certificate (${(err as Error).message}); type the fingerprint`);
    return undefined;
  }
}

/** The wizard on the context's terminal, for add (no `existing`) or edit. */
export function askOnTerminal(
  ctx: Context,
  o: Pick<WizardOptions, 'input' | 'given' | 'secret' | 'existing' | 'acceptDefaults'> & { snapshot: AccountsSnapshot },
): Promise<WizardResult> {
  return runAccountWizard({
    ...o,
    prompter: ctx.prompter,
    accounts: o.snapshot.accounts,
    filters: o.snapshot.filters,
    profiles: o.snapshot.profiles,
    probeKeychain: () => ctx.secrets.probeKeychain(),
    fetchCertificate: (target) => fetchServerCertificate(target, dnsOf(ctx.env).lookup),
    warn: (m) => ctx.out.warn(m),
    info: (m) => ctx.out.info(m),
    cwd: ctx.cwd,
    discover: o.existing ? undefined : async (address, type) => (await runDiscovery(ctx, address, { verify: true, types: type ? [type] : undefined })).candidates.filter((c) => c.verified === true),
  });
}
