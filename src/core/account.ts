// The account model: what an account is, its defaults, and how raw input becomes a valid account.
import { invalid, MailboxError } from './errors.js';
import { isAddress, isHost, oneOf, parseBoolean, parseFilterName, parseFingerprint, parsePort, parseSize } from './validate.js';

export const ACCOUNT_TYPES = ['smtp', 'pop3', 'imap'] as const;
export const SECURITIES = ['tls', 'starttls', 'none'] as const;
export const AUTH_METHODS = ['none', 'password', 'oauth2'] as const;
export type AccountType = (typeof ACCOUNT_TYPES)[number];
export type Security = (typeof SECURITIES)[number];
export type AuthMethod = (typeof AUTH_METHODS)[number];

/**
 * The login mechanisms an account may insist on (as swaks --auth and msmtp's auth): SASL mechanisms,
 * and `command` for the protocol's own login command (IMAP LOGIN, POP3 USER/PASS). Without one the
 * choice is automatic. What each type can do with each authentication, most preferred first:
 */
export const AUTH_MECHANISMS_BY_TYPE = {
  imap: { password: ['plain', 'login', 'command'], oauth2: ['oauthbearer', 'xoauth2'] },
  pop3: { password: ['scram-sha-256', 'cram-md5', 'plain', 'login', 'command'], oauth2: ['xoauth2'] },
  smtp: { password: ['scram-sha-256', 'cram-md5', 'plain', 'login'], oauth2: ['xoauth2'] },
} as const;
export type AuthMechanism = (typeof AUTH_MECHANISMS_BY_TYPE)[AccountType][Exclude<AuthMethod, 'none'>][number];

/** Where a secret lives. The config holds only this reference, never the secret itself. */
export type SecretRef =
  | { kind: 'keychain'; service: string; key: string }
  | { kind: 'env'; name: string }
  | { kind: 'command'; command: string };

export type KeychainRef = Extract<SecretRef, { kind: 'keychain' }>;

/** Whether two references name the same secret. */
export function sameSecretRef(a: SecretRef | undefined, b: SecretRef | undefined): boolean {
  if (!a || !b) return a === b;
  switch (a.kind) {
    case 'keychain':
      return b.kind === 'keychain' && a.service === b.service && a.key === b.key;
    case 'env':
      return b.kind === 'env' && a.name === b.name;
    case 'command':
      return b.kind === 'command' && a.command === b.command;
  }
}

/** Keychain entries that `before` named and no account in `after` names any more, each once. */
export function orphanedKeychainRefs(before: readonly Account[], after: readonly Account[]): KeychainRef[] {
  const orphaned: KeychainRef[] = [];
  for (const { secret } of before) {
    if (secret?.kind !== 'keychain') continue;
    if (after.some((a) => sameSecretRef(a.secret, secret)) || orphaned.some((o) => sameSecretRef(o, secret))) continue;
    orphaned.push(secret);
  }
  return orphaned;
}

export interface TlsTrust {
  /** Extra CA certificate file (PEM) trusted besides the system store. */
  ca?: string;
  /** Pinned SHA-256 fingerprint of the server certificate, "AB:CD:..". */
  fingerprint?: string;
  /** Skip verification entirely: explicit and loud. */
  insecure?: boolean;
}

export interface Account {
  name: string;
  type: AccountType;
  host: string;
  port: number;
  security: Security;
  auth: AuthMethod;
  user?: string;
  secret?: SecretRef;
  /** SMTP only: the From address of queued mail. */
  from?: string;
  active: boolean;
  debug: boolean;
  /** The login mechanism to insist on; absent: chosen from what the server offers. */
  authMechanism?: AuthMechanism;
  /** Name of an address filter; absent means the default filter of the direction. */
  filter?: string;
  /** IMAP only: the folder read. */
  folder?: string;
  /** POP3/IMAP: delete from the server once safely stored (default: keep). */
  deleteAfterDownload?: boolean;
  /** POP3/IMAP: larger messages stay on the server and are reported. */
  maxMessageSize?: number;
  tls: TlsTrust;
}

/** An account as shown: stored or provisioned. */
export interface AccountView extends Account {
  provisioned: boolean;
}

export const KEYCHAIN_SERVICE = 'mailbox';

export const DEFAULT_PORTS: Record<AccountType, Record<Security, number>> = {
  smtp: { tls: 465, starttls: 587, none: 25 },
  imap: { tls: 993, starttls: 143, none: 143 },
  pop3: { tls: 995, starttls: 110, none: 110 },
};

export function isIncoming(type: AccountType): boolean {
  return type !== 'smtp';
}

export function defaultPort(type: AccountType, security: Security): number {
  return DEFAULT_PORTS[type][security];
}

export function keychainRef(accountName: string): KeychainRef {
  return { kind: 'keychain', service: KEYCHAIN_SERVICE, key: accountName.toLowerCase() };
}

const NAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/i;

export function parseName(value: unknown): string {
  const name = String(value ?? '').trim();
  if (!NAME.test(name)) {
    throw invalid('name', value, '1-64 characters: letters, digits, ".", "_", "-", "@", starting with a letter or digit');
  }
  return name;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseEnvName(value: unknown, field = 'password-env'): string {
  const name = String(value ?? '').trim();
  if (!ENV_NAME.test(name)) throw invalid(field, value, 'an environment variable name such as MAIL_PASSWORD');
  return name;
}

/** A login name: anything printable (servers differ), no control characters, no surrounding blanks. */
export function parseUser(value: unknown, field = 'user'): string {
  const user = String(value ?? '').trim();
  if (!user || user.length > 256 || /[\x00-\x1f\x7f]/.test(user)) {
    throw invalid(field, value, 'a login name of 1-256 printable characters');
  }
  return user;
}

export function parseHost(value: unknown, field = 'host'): string {
  const host = String(value ?? '').trim();
  if (!isHost(host)) throw invalid(field, value, 'a host name (mail.example.com) or an IP address');
  return host.toLowerCase();
}

export function parseAddress(value: unknown, field = 'from'): string {
  const address = String(value ?? '').trim();
  if (!isAddress(address)) throw invalid(field, value, 'an email address such as ops@example.com');
  return address;
}

export function parseSecretRef(value: unknown, field = 'secret'): SecretRef {
  const ref = value as Partial<Record<string, unknown>> | null;
  if (!ref || typeof ref !== 'object') throw invalid(field, value, 'an object with kind keychain, env or command');
  switch (ref.kind) {
    case 'keychain':
      if (typeof ref.key !== 'string' || !ref.key) throw invalid(`${field}.key`, ref.key, 'the keychain entry name');
      return { kind: 'keychain', service: typeof ref.service === 'string' && ref.service ? ref.service : KEYCHAIN_SERVICE, key: ref.key };
    case 'env':
      return { kind: 'env', name: parseEnvName(ref.name, `${field}.name`) };
    case 'command':
      if (typeof ref.command !== 'string' || !ref.command.trim()) throw invalid(`${field}.command`, ref.command, 'a shell command that prints the secret');
      return { kind: 'command', command: ref.command };
    default:
      throw invalid(`${field}.kind`, ref.kind, 'one of keychain, env, command');
  }
}

/** Loosely typed input: flags, wizard answers, or an entry of an applied file. */
export type AccountInput = Partial<Record<keyof Account, unknown>> & { provisioned?: unknown };

function optionalString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = String(value).trim();
  return text === '' ? undefined : text;
}

/**
 * Turns raw input into a valid account, filling defaults (port from security, from from user),
 * or throws an EVALUE error naming the first bad field, its value and what is accepted.
 */
export function parseAccount(input: AccountInput): Account {
  const name = parseName(input.name);
  const type = oneOf(input.type, 'type', ACCOUNT_TYPES);
  const host = optionalString(input.host);
  if (!host) throw new MailboxError('EVALUE', 'missing host: expected a host name or IP address', { field: 'host' });
  const security = input.security === undefined ? 'tls' : oneOf(input.security, 'security', SECURITIES);
  const port = input.port === undefined || input.port === null || input.port === '' ? defaultPort(type, security) : parsePort(input.port);
  const auth = input.auth === undefined ? (type === 'smtp' && !input.user ? 'none' : 'password') : oneOf(input.auth, 'auth', AUTH_METHODS);
  const account: Account = {
    name,
    type,
    host: parseHost(host),
    port,
    security,
    auth,
    active: input.active === undefined ? true : parseBoolean(input.active, 'active'),
    debug: input.debug === undefined ? false : parseBoolean(input.debug, 'debug'),
    tls: parseTlsTrust(input.tls),
  };

  const user = optionalString(input.user);
  if (auth === 'none') {
    if (isIncoming(type)) throw invalid('auth', auth, `password or oauth2 (a ${type} server always needs a login)`);
  } else {
    if (!user) throw new MailboxError('EVALUE', `missing user: auth ${auth} needs a user name`, { field: 'user' });
    if (input.secret === undefined || input.secret === null) {
      throw new MailboxError('EVALUE', `missing password: auth ${auth} needs a secret source (keychain, env or command)`, { field: 'password' });
    }
    account.user = parseUser(user);
    account.secret = parseSecretRef(input.secret, 'password');
  }
  const mechanism = optionalString(input.authMechanism);
  if (mechanism !== undefined) account.authMechanism = parseAuthMechanism(mechanism, type, auth);

  const from = optionalString(input.from);
  if (type === 'smtp') {
    if (from !== undefined) account.from = parseAddress(from);
    else if (account.user && isAddress(account.user)) account.from = account.user;
  } else if (from !== undefined) {
    throw invalid('from', from, 'nothing: from applies to smtp accounts only');
  }

  const filter = optionalString(input.filter);
  if (filter) account.filter = parseFilterName(filter, 'filter');

  if (isIncoming(type)) {
    if (type === 'imap') account.folder = optionalString(input.folder) ?? 'INBOX';
    else if (optionalString(input.folder)) throw invalid('folder', input.folder, 'nothing: folder applies to imap accounts only');
    account.deleteAfterDownload = input.deleteAfterDownload === undefined ? false : parseBoolean(input.deleteAfterDownload, 'deleteAfterDownload');
    if (input.maxMessageSize !== undefined && input.maxMessageSize !== null && input.maxMessageSize !== '') {
      account.maxMessageSize = parseSize(input.maxMessageSize, 'maxMessageSize');
    }
  } else {
    for (const field of ['folder', 'deleteAfterDownload', 'maxMessageSize'] as const) {
      if (input[field] !== undefined && input[field] !== null && input[field] !== false) {
        throw invalid(field, input[field], `nothing: ${field} applies to pop3 and imap accounts only`);
      }
    }
  }
  return account;
}

/** A login mechanism this type of account can use with this authentication. */
function parseAuthMechanism(value: string, type: AccountType, auth: AuthMethod): AuthMechanism {
  if (auth === 'none') throw invalid('auth-mechanism', value, 'nothing: an account with auth none does not log in');
  const allowed: readonly AuthMechanism[] = AUTH_MECHANISMS_BY_TYPE[type][auth];
  const name = value.toLowerCase();
  if (!(allowed as readonly string[]).includes(name)) throw invalid('auth-mechanism', value, `one of ${allowed.join(', ')} for ${type === 'pop3' ? 'a' : 'an'} ${type} account with auth ${auth} (or none, to choose automatically)`);
  return name as AuthMechanism;
}

function parseTlsTrust(value: unknown): TlsTrust {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object') throw invalid('tls', value, 'an object with ca, fingerprint, insecure');
  const raw = value as Record<string, unknown>;
  const trust: TlsTrust = {};
  const ca = optionalString(raw.ca);
  if (ca) trust.ca = ca;
  if (optionalString(raw.fingerprint)) trust.fingerprint = parseFingerprint(raw.fingerprint);
  if (raw.insecure !== undefined && parseBoolean(raw.insecure, 'insecure')) trust.insecure = true;
  if (trust.insecure && (trust.ca || trust.fingerprint)) {
    throw invalid('insecure', true, 'either --insecure or a trust option (--ca, --fingerprint), not both');
  }
  return trust;
}

/** Warnings an admin must see when choosing this account's settings. */
export function accountWarnings(account: Account): string[] {
  const warnings: string[] = [];
  if (account.security !== 'tls') {
    const how = account.security === 'none' ? 'without encryption' : 'with STARTTLS';
    warnings.push(
      `account ${account.name}: security ${account.security} connects ${how}; the connection may expose data${account.security === 'none' ? ' and passwords' : ' to downgrade attacks'}. tls (SSL/TLS) is the safer choice.`,
    );
  }
  if (account.tls.insecure) {
    warnings.push(`account ${account.name}: --insecure turns off certificate verification; anyone on the path can read and change this connection. Prefer --ca FILE or --fingerprint SHA256.`);
  }
  return warnings;
}
