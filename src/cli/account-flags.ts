// The flags `add` and `edit` share, and how they become account input. No flag takes a password.
import { Option, type Command } from 'commander';
import {
  ACCOUNT_TYPES,
  AUTH_METHODS,
  defaultPort,
  parseAddress,
  parseEnvName,
  parseHost,
  parseName,
  parseUser,
  SECURITIES,
  type Account,
  type AccountInput,
  type TlsTrust,
} from '../core/account.js';
import { MailboxError } from '../core/errors.js';
import { oneOf, parseFilterName, parseFingerprint, parsePort, parseSize } from '../core/validate.js';

export interface AccountFlags {
  type?: string;
  name?: string;
  host?: string;
  port?: string;
  security?: string;
  auth?: string;
  user?: string;
  from?: string | false;
  passwordStdin?: boolean;
  passwordEnv?: string;
  passwordCommand?: string;
  filter?: string | false;
  folder?: string;
  deleteAfterDownload?: boolean;
  keepOnServer?: boolean;
  maxSize?: string | false;
  inactive?: boolean;
  active?: boolean;
  debug?: boolean;
  ca?: string | false;
  fingerprint?: string | false;
  insecure?: boolean;
  yes?: boolean;
  /** false with --no-test. */
  test?: boolean;
}

/** How the user chose to supply the secret. The keychain choice carries the secret to store. */
export type SecretChoice = { kind: 'keychain'; secret: string } | { kind: 'env'; name: string } | { kind: 'command'; command: string };

const SECRET_FLAGS = '--password-stdin, --password-env VAR or --password-command CMD';

/** Registers the account flags on `add` (mode add) or `edit` (mode edit: no --type/--name, plus --no-X to clear). */
export function accountOptions(command: Command, mode: 'add' | 'edit'): Command {
  if (mode === 'add') {
    command
      .option('--type <type>', `account type: ${ACCOUNT_TYPES.join(', ')}`)
      .option('--name <name>', 'unique account name (letters, digits, . _ - @)');
  }
  command
    .option('--host <host>', 'server host name or IP address')
    .option('--port <port>', 'server port (default from type and security: SMTP 465/587/25, IMAP 993/143, POP3 995/110)')
    .option('--security <security>', `connection security: ${SECURITIES.join(', ')} (default tls)`)
    .option('--auth <auth>', `authentication: ${AUTH_METHODS.join(', ')} (default password; none only for smtp)`)
    .option('--user <user>', 'login name')
    .option('--from <address>', 'smtp: From address of sent mail (default: the user when it is an address)')
    .option('--password-stdin', 'read the password from standard input and keep it in the OS keychain')
    .option('--password-env <var>', 'read the password from this environment variable at use time')
    .option('--password-command <cmd>', 'run this command at use time; its output is the password')
    .option('--filter <name>', 'address filter (inbound for pop3/imap, outbound for smtp)')
    .option('--folder <folder>', 'imap: folder to read (default INBOX)')
    .option('--delete-after-download', 'pop3/imap: delete messages from the server once stored')
    .option('--keep-on-server', 'pop3/imap: keep messages on the server (the default)')
    .option('--max-size <size>', 'pop3/imap: leave larger messages on the server (512k, 10MB)')
    .option('--inactive', mode === 'add' ? 'add the account switched off' : 'switch the account off')
    .option('--debug', 'log the raw protocol exchange (secrets redacted)')
    .option('--ca <file>', 'trust this extra CA certificate (PEM file)')
    .option('--fingerprint <sha256>', "pin the server certificate's SHA-256 fingerprint")
    .option('--insecure', 'do not verify the server certificate (dangerous)')
    .option('-y, --yes', 'accept defaults instead of asking')
    .option('--no-test', 'save without testing the connection first');
  if (mode === 'edit') {
    command
      .option('--active', 'switch the account on')
      .addOption(new Option('--no-debug', 'stop debug logging'))
      .addOption(new Option('--no-from', 'smtp: From follows the user again'))
      .addOption(new Option('--no-filter', 'use the default filter of the direction'))
      .addOption(new Option('--no-max-size', 'no size limit'))
      .addOption(new Option('--no-ca', 'drop the extra CA certificate'))
      .addOption(new Option('--no-fingerprint', 'drop the certificate pin'))
      .addOption(new Option('--no-insecure', 'verify the certificate again'));
  }
  return command;
}

/** Flags that describe the account (not --yes, --no-test, --json, --home). */
const ACCOUNT_FIELDS: (keyof AccountFlags)[] = [
  'type', 'name', 'host', 'port', 'security', 'auth', 'user', 'from', 'passwordStdin', 'passwordEnv', 'passwordCommand', 'filter',
  'folder', 'deleteAfterDownload', 'keepOnServer', 'maxSize', 'inactive', 'active', 'debug', 'ca', 'fingerprint', 'insecure',
];

export function hasAccountFlags(flags: AccountFlags): boolean {
  return ACCOUNT_FIELDS.some((f) => flags[f] !== undefined);
}

function usage(message: string): MailboxError {
  return new MailboxError('EUSAGE', message);
}

/**
 * Checks each given flag's value on its own, before any prompt is shown or anything else is
 * looked at: a bad value fails fast, naming the flag, the value and what is accepted.
 */
export function checkFlagValues(flags: AccountFlags): void {
  const pairs: [boolean | undefined, boolean | undefined, string][] = [
    [flags.deleteAfterDownload, flags.keepOnServer, '--delete-after-download and --keep-on-server'],
    [flags.inactive, flags.active, '--inactive and --active'],
  ];
  for (const [a, b, names] of pairs) if (a && b) throw usage(`choose one of ${names}`);
  const sources = [flags.passwordStdin, flags.passwordEnv, flags.passwordCommand].filter((v) => v !== undefined);
  if (sources.length > 1) throw usage(`choose one secret source: ${SECRET_FLAGS}`);
  if (flags.type !== undefined) oneOf(flags.type, 'type', ACCOUNT_TYPES);
  if (flags.name !== undefined) parseName(flags.name);
  if (flags.host !== undefined) parseHost(flags.host);
  if (flags.port !== undefined) parsePort(flags.port);
  if (flags.security !== undefined) oneOf(flags.security, 'security', SECURITIES);
  if (flags.auth !== undefined) oneOf(flags.auth, 'auth', AUTH_METHODS);
  if (flags.user !== undefined) parseUser(flags.user);
  if (typeof flags.from === 'string') parseAddress(flags.from);
  if (flags.passwordEnv !== undefined) parseEnvName(flags.passwordEnv);
  if (flags.passwordCommand !== undefined && !flags.passwordCommand.trim()) {
    throw new MailboxError('EVALUE', 'invalid password-command "": expected a shell command that prints the secret', { field: 'password-command' });
  }
  if (typeof flags.filter === 'string') parseFilterName(flags.filter, 'filter');
  if (typeof flags.maxSize === 'string') parseSize(flags.maxSize, 'max-size');
  if (typeof flags.fingerprint === 'string') parseFingerprint(flags.fingerprint);
}

/** The secret source given by flags; --password-stdin needs the text read by the caller. */
export function secretFromFlags(flags: AccountFlags, stdinText: string | undefined): SecretChoice | undefined {
  if (flags.passwordEnv !== undefined) return { kind: 'env', name: parseEnvName(flags.passwordEnv) };
  if (flags.passwordCommand !== undefined) return { kind: 'command', command: flags.passwordCommand };
  if (flags.passwordStdin) return { kind: 'keychain', secret: parseStdinSecret(stdinText ?? '') };
  return undefined;
}

/** Like `docker login --password-stdin`: one trailing newline is not part of the password. */
export function parseStdinSecret(text: string): string {
  const secret = text.replace(/\r?\n$/, '');
  if (!secret) {
    throw new MailboxError('EVALUE', 'invalid password from standard input: it is empty', {
      field: 'password',
      hint: 'pipe the password in: printf %s "$PW" | mailbox add ... --password-stdin',
    });
  }
  return secret;
}

/**
 * Account input from flags laid over `base` (the account being edited, or nothing for add).
 * Values that followed another field (the port its security, From its user) follow it again
 * when that field changes and they were not given.
 */
export function inputFromFlags(flags: AccountFlags, base?: Account): AccountInput {
  const input: AccountInput = base ? { ...base, tls: { ...base.tls } } : {};
  const set = <K extends keyof Account>(key: K, value: unknown) => {
    if (value !== undefined) input[key] = value === false ? undefined : value;
  };
  if (base && flags.security !== undefined && flags.port === undefined && base.port === defaultPort(base.type, base.security)) {
    input.port = undefined;
  }
  if (base && flags.user !== undefined && flags.from === undefined && base.from !== undefined && base.from === base.user) {
    input.from = undefined;
  }
  set('type', flags.type);
  set('name', flags.name);
  set('host', flags.host);
  set('port', flags.port);
  set('security', flags.security);
  set('auth', flags.auth);
  set('user', flags.user);
  set('from', flags.from);
  set('filter', flags.filter);
  set('folder', flags.folder);
  set('maxMessageSize', flags.maxSize);
  if (flags.deleteAfterDownload) input.deleteAfterDownload = true;
  if (flags.keepOnServer) input.deleteAfterDownload = false;
  if (flags.inactive) input.active = false;
  if (flags.active) input.active = true;
  set('debug', flags.debug);
  const tls = { ...((input.tls as TlsTrust | undefined) ?? {}) };
  if (flags.ca !== undefined) tls.ca = flags.ca || undefined;
  if (flags.fingerprint !== undefined) tls.fingerprint = flags.fingerprint || undefined;
  if (flags.insecure !== undefined) tls.insecure = flags.insecure || undefined;
  input.tls = tls;
  return input;
}

/** The authentication an input ends up with when --auth is not given. */
export function effectiveAuth(input: AccountInput, secret: SecretChoice | undefined): string {
  if (input.auth !== undefined) return String(input.auth).toLowerCase();
  return input.type === 'smtp' && !input.user && !secret ? 'none' : 'password';
}

/** Without a terminal nobody can be asked: name every flag a complete account still needs. */
export function missingFlags(input: AccountInput, secret: SecretChoice | undefined): string[] {
  const missing: string[] = [];
  if (!input.type) missing.push('--type');
  if (!input.name) missing.push('--name');
  if (!input.host) missing.push('--host');
  if (input.type && effectiveAuth(input, secret) !== 'none') {
    if (!input.user) missing.push('--user');
    if (!secret && !input.secret) missing.push(`a secret source (${SECRET_FLAGS})`);
  }
  return missing;
}

/** The account fields the flags settle (the wizard does not ask for them). */
export function givenFields(flags: AccountFlags): Set<string> {
  const given = new Set<string>();
  const map: [keyof AccountFlags, string][] = [
    ['type', 'type'], ['name', 'name'], ['host', 'host'], ['port', 'port'], ['security', 'security'], ['auth', 'auth'], ['user', 'user'],
    ['from', 'from'], ['filter', 'filter'], ['folder', 'folder'], ['deleteAfterDownload', 'deleteAfterDownload'],
    ['keepOnServer', 'deleteAfterDownload'], ['maxSize', 'maxMessageSize'], ['inactive', 'active'], ['active', 'active'], ['debug', 'debug'],
    ['ca', 'tls'], ['fingerprint', 'tls'], ['insecure', 'tls'],
  ];
  for (const [flag, field] of map) if (flags[flag] !== undefined) given.add(field);
  return given;
}
