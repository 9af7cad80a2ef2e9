// The account flags of `add` and `edit`, declared once as data: each flag's name, value, help, the
// account field it sets, the types it applies to, its forms and its check. From this table come the
// commander options, the parsing into account input, the fields the wizard does not ask again, the
// missing-flags report, the value checks, and the flags that hints name (hints.ts). No flag takes a
// password: the secret comes from standard input, a prompt, the environment or a command.
import type { Command } from 'commander';
import {
  ACCOUNT_TYPES,
  AUTH_MECHANISMS_BY_TYPE,
  AUTH_METHODS,
  defaultPort,
  parseAddress,
  parseEnvName,
  parseHost,
  parseCommand,
  parseFolder,
  parseName,
  parsePath,
  parseSecurity,
  parseUser,
  SECURITIES,
  TOKEN_STORES,
  type Account,
  type AccountInput,
  type AccountType,
  type TlsTrust,
} from '../core/account.js';
import { parseDestination } from '../core/destination.js';
import { MailboxError } from '../core/errors.js';
import { oneOf, parseCount, parseFilterName, parseFingerprint, parsePort, parseSize } from '../core/validate.js';
import type { SecretChoice } from '../jobs/accounts/secret-choice.js';

export type AccountCommand = 'add' | 'edit';

export interface AccountFlag {
  /** The long flag without its dashes. */
  flag: string;
  /** Its value's placeholder; none for a switch. */
  value?: string;
  help: string | Record<AccountCommand, string>;
  /** The setting it changes: the name hints' fixes use, and what the wizard then does not ask. */
  field: string;
  /** A switch: the value it sets. */
  sets?: boolean;
  /** Flags of one group exclude each other (by default the group is the field). */
  group?: string;
  /** The account types it applies to (all when absent), named in its help. */
  types?: readonly AccountType[];
  /** Offered by one command only. */
  only?: AccountCommand;
  /** Help of edit's --no-X form, which clears the setting. */
  clear?: string;
  /** A switch that both commands offer as --X and --no-X (on and off). */
  negatable?: boolean;
  /** Checks a given value on its own, before anything else happens. */
  check?: (value: string) => unknown;
  /** Lays the value over the account input (undefined clears it). */
  apply?: (input: AccountInput, value: unknown) => void;
  /** A secret source: the choice it makes (the password itself comes later for stdin). */
  secret?: (value: string) => SecretChoice | 'stdin';
  /** Given several times: the values as a list. */
  repeat?: boolean;
}

const INCOMING = ['pop3', 'imap'] as const;

const set =
  (key: keyof Account) =>
  (input: AccountInput, value: unknown): void => {
    input[key] = value;
  };
const trust =
  (key: keyof TlsTrust) =>
  (input: AccountInput, value: unknown): void => {
    input.tls = { ...((input.tls as TlsTrust | undefined) ?? {}), [key]: value };
  };

export const ACCOUNT_FLAGS: readonly AccountFlag[] = [
  { flag: 'type', value: 'type', help: { add: `account type: ${ACCOUNT_TYPES.join(', ')}`, edit: 'must equal the current type (the type cannot change)' }, field: 'type', check: (v) => oneOf(v, 'type', ACCOUNT_TYPES), apply: set('type') },
  { flag: 'discover', value: 'address', help: 'find the servers of this address (as mailbox discover does) and fill in the best verified one of --type (default: incoming): host, port, security, auth, user; flags given win', field: 'discover', only: 'add', check: (v) => parseAddress(v, 'discover') },
  { flag: 'name', value: 'name', help: 'unique account name (letters, digits, . _ - @)', field: 'name', only: 'add', check: parseName, apply: set('name') },
  { flag: 'host', value: 'host', help: 'server host name or IP address', field: 'host', check: parseHost, apply: set('host') },
  { flag: 'port', value: 'port', help: 'server port (default from type and security: SMTP 465/587/25, IMAP 993/143, POP3 995/110)', field: 'port', check: parsePort, apply: set('port') },
  { flag: 'security', value: 'security', help: `connection security: ${SECURITIES.join(', ')} (default tls; ssl means tls)`, field: 'security', check: (v) => parseSecurity(v), apply: set('security') },
  { flag: 'auth', value: 'auth', help: `authentication: ${AUTH_METHODS.join(', ')} (default password; none only for smtp)`, field: 'auth', check: (v) => oneOf(v, 'auth', AUTH_METHODS), apply: set('auth') },
  { flag: 'user', value: 'user', help: 'login name', field: 'user', check: parseUser, apply: set('user') },
  { flag: 'auth-mechanism', value: 'name', help: 'log in with this mechanism only: scram-sha-256, cram-md5 (pop3, smtp), plain, login, command (imap LOGIN, pop3 USER/PASS), oauthbearer, xoauth2 (auth oauth2); default: the best the server offers', field: 'authMechanism', clear: 'choose the mechanism automatically again', check: (v) => oneOf(v, 'auth-mechanism', [...new Set(Object.values(AUTH_MECHANISMS_BY_TYPE).flatMap((t) => [...t.password, ...t.oauth2]))]), apply: set('authMechanism') },
  { flag: 'from', value: 'address', help: 'From of sent mail: an address, or a name and address: "Ops Team <ops@example.com>" (default: the user when it is an address)', field: 'from', types: ['smtp'], clear: 'From follows the user again', check: parseAddress, apply: set('from') },
  { flag: 'max-per-minute', value: 'n', help: 'send at most N messages in any minute, across cycles and restarts (Microsoft 365 allows 30); the rest waits send-ready', field: 'maxPerMinute', types: ['smtp'], clear: 'no sending limit', check: (v) => parseCount(v, 'max-per-minute', 1, 100_000), apply: set('maxPerMinute') },
  { flag: 'oauth', value: 'profile', help: 'with --auth oauth2: the OAuth 2.0 profile to authorize with (mailbox oauth add); tokens come from mailbox authorize, no secret needed', field: 'oauth', check: (v) => parseName(v), apply: (input, v) => ((input.oauth = v), (input.secret = undefined)) },
  { flag: 'token-store', value: 'store', help: `with --oauth: where the tokens are kept: ${TOKEN_STORES.join(', ')} (default keychain; file: a 0600 file under the state folder, encrypted when MAILBOX_TOKEN_KEY is set)`, field: 'tokenStore', check: (v) => oneOf(v, 'token-store', TOKEN_STORES), apply: (input, v) => (input.tokenStore = v === 'keychain' ? undefined : v) },
  { flag: 'password-stdin', help: 'read the password from standard input and keep it in the OS keychain', field: 'password', group: 'secret', secret: () => 'stdin' },
  { flag: 'password-env', value: 'var', help: 'read the password from this environment variable at use time', field: 'passwordEnv', group: 'secret', check: (v) => parseEnvName(v), secret: (v) => ({ kind: 'env', name: parseEnvName(v) }) },
  { flag: 'password-command', value: 'cmd', help: 'run this command at use time; its output is the password', field: 'passwordCommand', group: 'secret', check: (v) => parseCommand(v), secret: (v) => ({ kind: 'command', command: parseCommand(v) }) },
  { flag: 'filter', value: 'name', help: 'address filter (inbound for pop3/imap, outbound for smtp)', field: 'filter', clear: 'use the default filter of the direction', check: (v) => parseFilterName(v, 'filter'), apply: set('filter') },
  {
    flag: 'folder',
    value: 'folder',
    help: 'folder to read (default INBOX); repeat to read several',
    field: 'folder',
    types: ['imap'],
    repeat: true,
    check: (v) => parseFolder(v),
    // One: that folder alone. Several: the first keeps the account's source ids, all are read.
    apply: (input, v) => {
      const list = (Array.isArray(v) ? v : [v]) as string[];
      input.folder = list[0];
      input.folders = list.length > 1 ? list : undefined;
      if (list.length < 2) input.excludeFolders = undefined;
    },
  },
  { flag: 'folders', value: 'pattern', help: 'read every folder the server lists that matches (IMAP LIST wildcards: * anything, % one level; repeat)', field: 'folders', types: ['imap'], repeat: true, clear: 'read the one folder (--folder) again', check: (v) => parseFolder(v, 'folders'), apply: (input, v) => ((input.folders = v === undefined || Array.isArray(v) ? v : [v]), v === undefined && (input.excludeFolders = undefined)) },
  { flag: 'exclude-folder', value: 'folder', help: 'with several folders: leave this one out (a name or a pattern; repeat)', field: 'excludeFolders', types: ['imap'], repeat: true, clear: 'leave no folder out', check: (v) => parseFolder(v, 'exclude-folder'), apply: (input, v) => (input.excludeFolders = v === undefined || Array.isArray(v) ? v : [v]) },
  { flag: 'delete-after-download', help: 'delete messages from the server once stored', field: 'deleteAfterDownload', sets: true, types: INCOMING, apply: set('deleteAfterDownload') },
  { flag: 'keep-on-server', help: 'keep messages on the server (the default)', field: 'deleteAfterDownload', sets: false, types: INCOMING, apply: set('deleteAfterDownload') },
  { flag: 'max-size', value: 'size', help: 'leave larger messages on the server (512k, 10MB)', field: 'maxMessageSize', types: INCOMING, clear: 'no size limit', check: (v) => parseSize(v, 'max-size'), apply: set('maxMessageSize') },
  { flag: 'push', help: 'store new mail within seconds of its arrival over IMAP IDLE (the default); --no-push: poll only', field: 'push', sets: true, types: ['imap'], negatable: true, apply: set('push') },
  { flag: 'deliver', value: 'dest', help: 'hand received mail on after storing it: maildir:/PATH, mda:COMMAND (message on stdin), lmtp:HOST:PORT or lmtp:unix:/PATH (default: the store\'s inbox only)', field: 'deliver', types: INCOMING, clear: 'keep received mail in the store\'s inbox only', check: (v) => parseDestination(v, 'deliver'), apply: (input, v) => ((input.deliver = v), v === undefined && (input.deliverTo = undefined)) },
  { flag: 'deliver-to', value: 'address', help: 'with --deliver: the recipient of the hand-off (LMTP RCPT TO, MAILBOX_RECIPIENT; default the user)', field: 'deliverTo', types: INCOMING, clear: 'the hand-off goes to the user again', apply: set('deliverTo') },
  { flag: 'inactive', help: { add: 'add the account switched off', edit: 'switch the account off' }, field: 'active', sets: false, apply: set('active') },
  { flag: 'active', help: 'switch the account on', field: 'active', sets: true, only: 'edit', apply: set('active') },
  { flag: 'debug', help: 'log the raw protocol exchange (secrets redacted)', field: 'debug', sets: true, clear: 'stop debug logging', apply: set('debug') },
  { flag: 'ca', value: 'file', help: 'trust this extra CA certificate (PEM file)', field: 'ca', clear: 'drop the extra CA certificate', check: (v) => parsePath(v, 'ca'), apply: trust('ca') },
  { flag: 'fingerprint', value: 'sha256', help: "pin the server certificate's SHA-256 fingerprint", field: 'fingerprint', clear: 'drop the certificate pin', check: (v) => parseFingerprint(v), apply: trust('fingerprint') },
  { flag: 'insecure', help: 'do not verify the server certificate (dangerous)', field: 'insecure', sets: true, clear: 'verify the certificate again', apply: trust('insecure') },
];

/** How a group of flags is named when one of them must be chosen. */
const GROUP_NAMES: Record<string, string> = { secret: 'secret source' };

/** commander's attribute for a flag: --max-size -> maxSize. */
function keyOf(flag: AccountFlag): string {
  return flag.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function groupOf(flag: AccountFlag): string {
  return flag.group ?? flag.field;
}

/** "--password-env VAR": the flag as written with a value. */
export function flagUsage(flag: AccountFlag, value?: string): string {
  return flag.value ? `--${flag.flag} ${value ?? flag.value.toUpperCase()}` : `--${flag.flag}`;
}

function orList(items: readonly string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

/** The values commander parsed: a string per flag with a value, true for a switch, false for --no-X. */
export type AccountFlagValues = Readonly<Record<string, string | string[] | boolean | undefined>>;

/** The flags of `add` or `edit` (edit adds the --no-X forms), and what both share besides. */
export function declareAccountFlags(command: Command, mode: AccountCommand): Command {
  for (const f of ACCOUNT_FLAGS) {
    if (f.only && f.only !== mode) continue;
    const help = typeof f.help === 'string' ? f.help : f.help[mode];
    const scope = f.types ? `${f.types.join('/')}: ` : '';
    if (f.repeat) command.option(`--${f.flag} <${f.value}>`, `${scope}${help}`, (value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    else command.option(f.value ? `--${f.flag} <${f.value}>` : `--${f.flag}`, `${scope}${help}`);
    if (mode === 'edit' && f.clear) command.option(`--no-${f.flag}`, `${scope}${f.clear}`);
    if (f.negatable) command.option(`--no-${f.flag}`, `${scope}the opposite of --${f.flag}`);
  }
  return command.option('-y, --yes', 'accept defaults instead of asking').option('--no-test', 'save without testing the connection first');
}

function given(flags: AccountFlagValues): AccountFlag[] {
  return ACCOUNT_FLAGS.filter((f) => flags[keyOf(f)] !== undefined);
}

export function hasAccountFlags(flags: AccountFlagValues): boolean {
  return given(flags).length > 0;
}

/**
 * Checks the given flags on their own, before any prompt is shown or anything else is looked at:
 * two flags of one group are a usage error (64), a bad value names the flag, the value and what is
 * accepted (65).
 */
export function checkFlagValues(flags: AccountFlagValues): void {
  const chosen = given(flags);
  for (const group of new Set(chosen.map(groupOf))) {
    if (chosen.filter((f) => groupOf(f) === group).length < 2) continue;
    const all = ACCOUNT_FLAGS.filter((f) => groupOf(f) === group).map((f) => flagUsage(f));
    const name = GROUP_NAMES[group];
    throw new MailboxError('EUSAGE', name ? `choose one ${name}: ${orList(all)}` : `choose one of ${orList(all)}`);
  }
  for (const f of chosen) {
    const value = flags[keyOf(f)];
    for (const one of Array.isArray(value) ? value : [value]) if (typeof one === 'string') f.check?.(one);
  }
}

export interface ParsedAccountFlags {
  input: AccountInput;
  /** The secret source given; 'stdin' until standard input (or a masked prompt) gives the password. */
  secret?: SecretChoice | 'stdin';
  /** The fields the flags set: the wizard does not ask for them. */
  given: Set<string>;
}

/**
 * Account input from the flags laid over `base` (the account being edited, or nothing for add).
 * Values that followed another field (the port its security, From its user) follow it again when
 * that field changes and they were not given.
 */
export function parseAccountFlags(flags: AccountFlagValues, base?: Account): ParsedAccountFlags {
  const input: AccountInput = base ? { ...base, tls: { ...base.tls } } : { tls: {} };
  if (base && flags.security !== undefined && flags.port === undefined && base.port === defaultPort(base.type, base.security)) input.port = undefined;
  if (base && flags.user !== undefined && flags.from === undefined && base.from !== undefined && base.from === base.user) input.from = undefined;
  // Another authentication, or a secret source of its own, leaves the OAuth profile behind.
  const oauthGone = (flags.auth !== undefined && String(flags.auth).toLowerCase() !== 'oauth2') || given(flags).some((f) => f.secret);
  if (base && oauthGone && flags.oauth === undefined) {
    input.oauth = undefined;
    input.tokenStore = undefined;
  }
  const parsed: ParsedAccountFlags = { input, given: new Set() };
  for (const f of given(flags)) {
    const value = flags[keyOf(f)]!;
    parsed.given.add(f.field);
    if (f.secret) parsed.secret = f.secret(String(value));
    // A switch sets its value; --no-X (false) clears what a flag with a value set.
    f.apply?.(input, value === false ? (f.value ? undefined : false) : (f.sets ?? value));
  }
  return parsed;
}

/** Like `docker login --password-stdin`: one trailing newline is not part of the password. */
export function parseStdinSecret(text: string, command: AccountCommand = 'add'): string {
  const secret = text.replace(/\r?\n$/, '');
  if (!secret) {
    throw new MailboxError('EVALUE', 'invalid password from standard input: it is empty', {
      field: 'password',
      hint: `pipe the password in: printf %s "$PW" | mailbox ${command} ... --password-stdin`,
    });
  }
  return secret;
}

/** The authentication an input ends up with when --auth is not given. */
export function effectiveAuth(input: AccountInput, secret: SecretChoice | 'stdin' | undefined): string {
  if (input.auth !== undefined) return String(input.auth).toLowerCase();
  return input.type === 'smtp' && !input.user && !secret ? 'none' : 'password';
}

/** How a missing field is asked for: its flag, or the flags of its group. */
function missingField(group: string): string {
  const flags = ACCOUNT_FLAGS.filter((f) => groupOf(f) === group);
  return flags.length === 1 ? `--${flags[0]!.flag}` : `a ${GROUP_NAMES[group]} (${orList(flags.map((f) => flagUsage(f)))})`;
}

/**
 * Without a terminal nobody can be asked: name every flag a complete account still needs, all at
 * once. Without --type the login is assumed (every type but an SMTP relay needs one).
 */
export function missingFlags(input: AccountInput, secret: SecretChoice | 'stdin' | undefined): string[] {
  const missing = (['type', 'name', 'host'] as const).filter((field) => !input[field]);
  const groups: string[] = [...missing];
  if (effectiveAuth(input, secret) !== 'none') {
    if (!input.user) groups.push('user');
    if (!secret && !input.secret && !input.oauth) groups.push(effectiveAuth(input, secret) === 'oauth2' ? 'oauth' : 'secret');
  }
  return groups.map(missingField);
}
