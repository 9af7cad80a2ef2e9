// The account model: what an account is, its defaults, and how raw input becomes a valid account.
import { destinationText, parseDestination } from './destination.js';
import { invalid, MailboxError, shown } from './errors.js';
import { formatMailbox, isAddress, isHost, oneOf, parseBoolean, parseCount, parseFilterName, parseFingerprint, parseMailbox, parsePort, parseSize, parseText } from './validate.js';

export const ACCOUNT_TYPES = ['smtp', 'pop3', 'imap'] as const;
export const SECURITIES = ['tls', 'starttls', 'none'] as const;
/** Other words admins use for a security: "ssl" is what most mail programs call implicit TLS. */
export const SECURITY_ALIASES = { ssl: 'tls' } as const;
export const AUTH_METHODS = ['none', 'password', 'oauth2'] as const;
export type AccountType = (typeof ACCOUNT_TYPES)[number];
export type Security = (typeof SECURITIES)[number];
export type AuthMethod = (typeof AUTH_METHODS)[number];
/** Where an OAuth 2.0 account's tokens are kept: the OS keychain (default), or a 0600 file under the state folder. */
export const TOKEN_STORES = ['keychain', 'file'] as const;
export type TokenStoreKind = (typeof TOKEN_STORES)[number];

/**
 * The login mechanisms an account may insist on (as swaks --auth and msmtp's auth): SASL mechanisms,
 * and `command` for the protocol's own login command (IMAP LOGIN, POP3 USER/PASS). Without one the
 * choice is automatic. What each type can do with each authentication, most preferred first:
 */
export const AUTH_MECHANISMS_BY_TYPE = {
  imap: { password: ['plain', 'login', 'command'], oauth2: ['oauthbearer', 'xoauth2'] },
  pop3: { password: ['scram-sha-256', 'cram-md5', 'plain', 'login', 'command'], oauth2: ['oauthbearer', 'xoauth2'] },
  smtp: { password: ['scram-sha-256', 'cram-md5', 'plain', 'login'], oauth2: ['oauthbearer', 'xoauth2'] },
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
  // Keyed sets keep this linear: apply compares every stored account with every wanted one.
  const key = (ref: KeychainRef) => JSON.stringify([ref.service, ref.key]);
  const named = new Set(after.flatMap(({ secret }) => (secret?.kind === 'keychain' ? [key(secret)] : [])));
  const orphaned = new Map<string, KeychainRef>();
  for (const { secret } of before) {
    if (secret?.kind === 'keychain' && !named.has(key(secret)) && !orphaned.has(key(secret))) orphaned.set(key(secret), secret);
  }
  return [...orphaned.values()];
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
  /** A password (or, for oauth2 without a profile, an access token fetched elsewhere). */
  secret?: SecretRef;
  /** OAuth 2.0: the profile the account authorizes with (tokens from the token manager, no secret). */
  oauth?: string;
  /** OAuth 2.0 with a profile: where its tokens are kept; absent means the keychain. */
  tokenStore?: TokenStoreKind;
  /** SMTP only: the From address of queued mail. */
  from?: string;
  /** SMTP only: send at most this many messages in any minute (a provider's limit: Microsoft 365 allows 30). */
  maxPerMinute?: number;
  active: boolean;
  debug: boolean;
  /** The login mechanism to insist on; absent: chosen from what the server offers. */
  authMechanism?: AuthMechanism;
  /** Name of an address filter; absent means the default filter of the direction. */
  filter?: string;
  /** IMAP only: the folder read (with `folders`: the one whose source ids keep their old form). */
  folder?: string;
  /** IMAP only (issue 13): several folders, names or LIST patterns (`*`, `%`); absent: `folder` alone. */
  folders?: string[];
  /** IMAP only, with `folders`: folders left out (names or patterns). */
  excludeFolders?: string[];
  /** POP3/IMAP: delete from the server once safely stored (default: keep). */
  deleteAfterDownload?: boolean;
  /** POP3/IMAP: larger messages stay on the server and are reported. */
  maxMessageSize?: number;
  /** IMAP only: false turns push (IMAP IDLE) off for this account; absent means on. */
  push?: boolean;
  /** POP3/IMAP: where received mail is handed next (core/destination.ts text form); absent: the store's inbox only. */
  deliver?: string;
  /** POP3/IMAP with a destination: the recipient of the hand-off (LMTP RCPT TO, MAILBOX_RECIPIENT); default the user. */
  deliverTo?: string;
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
  const name = typeof value === 'string' ? value.trim() : '';
  if (!NAME.test(name)) {
    throw invalid('name', value, '1-64 characters: letters, digits, ".", "_", "-", "@", starting with a letter or digit');
  }
  return name;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

export function parseEnvName(value: unknown, field = 'password-env'): string {
  const name = typeof value === 'string' ? value.trim() : '';
  if (!ENV_NAME.test(name)) throw invalid(field, value, 'an environment variable name such as MAIL_PASSWORD (letters, digits, "_", at most 255)');
  return name;
}

/** A login name: anything printable (servers differ), no control characters, no surrounding blanks. */
export function parseUser(value: unknown, field = 'user'): string {
  return parseText(value, field, { max: 256, what: 'a login name' });
}

export function parseHost(value: unknown, field = 'host'): string {
  const host = typeof value === 'string' ? value.trim() : '';
  if (!isHost(host)) throw invalid(field, value, 'a host name (mail.example.com) or an IP address');
  return host.toLowerCase();
}

export function parseSecurity(value: unknown, field = 'security'): Security {
  return oneOf(value, field, SECURITIES, SECURITY_ALIASES);
}

/** An IMAP folder name (any printable text; the server says whether it exists). */
export function parseFolder(value: unknown, field = 'folder'): string {
  return parseText(value, field, { max: 1000, what: 'a folder name' });
}

/** A shell command that prints the secret. */
export function parseCommand(value: unknown, field = 'password-command'): string {
  return parseText(value, field, { max: 4096, what: 'a shell command that prints the secret' });
}

/** A file path (a CA certificate). */
export function parsePath(value: unknown, field: string): string {
  return parseText(value, field, { max: 4096, what: 'a file path' });
}

const FROM_ACCEPTED = 'an email address, with a display name or without: ops@example.com, Ops Team <ops@example.com>, "Smith, Alice" <alice@example.com>';

/** A From: an address, or a name and an address (RFC 5322 name-addr); as a header writes it. */
export function parseAddress(value: unknown, field = 'from'): string {
  const mailbox = typeof value === 'string' && value.length <= 1000 ? parseMailbox(value) : undefined;
  if (!mailbox) throw invalid(field, value, FROM_ACCEPTED);
  return formatMailbox(mailbox);
}

/** The address of a From (the envelope sender of mail sent with it), without the display name. */
export function fromAddress(from: string): string {
  return parseMailbox(from)?.address ?? from;
}

/** The envelope sender of an SMTP account: its From's address, else its user when that is an address. */
export function senderAddress(account: Pick<Account, 'from' | 'user'>): string | undefined {
  if (account.from) return fromAddress(account.from);
  return account.user && isAddress(account.user) ? account.user : undefined;
}

/**
 * An SMTP account that logs in as a user that is not an address must have a From: otherwise there
 * is nothing to send from (without a user, a relay, each message's own From is the sender). Refused
 * when an account is saved; an account already stored without one is reported, and not sent with.
 */
export function missingFrom(account: Account): MailboxError | undefined {
  if (account.type !== 'smtp' || account.from || !account.user || isAddress(account.user)) return undefined;
  return new MailboxError('EVALUE', `missing from: SMTP account ${account.name} logs in as ${shown(account.user)}, which is not an email address, so it needs a From address to send from`, {
    field: 'from',
    account: account.name,
    hint: 'give the address its mail is sent from',
    fixes: [{ field: 'from', value: 'ADDRESS' }],
  });
}

/**
 * The From of an SMTP account as entered: a mailbox, or empty to follow the user, which must then be an
 * address (or absent). The wizard's check (the flags go through parseAccount, which uses the same rules).
 */
export function parseFromFor(value: unknown, user: string | undefined, field = 'from'): string | undefined {
  if (!given(value)) {
    if (!user?.trim() || isAddress(user.trim())) return undefined;
    throw invalid(field, '', `${FROM_ACCEPTED} (the user ${shown(user)} is not an address to send from)`);
  }
  return parseAddress(value, field);
}

export function parseSecretRef(value: unknown, field = 'secret'): SecretRef {
  const ref = value as Partial<Record<string, unknown>> | null;
  if (!ref || typeof ref !== 'object') throw invalid(field, value, 'an object with kind keychain, env or command');
  switch (ref.kind) {
    case 'keychain': {
      const key = parseText(ref.key, `${field}.key`, { max: 256, what: 'the keychain entry name' });
      const service = ref.service === undefined || ref.service === '' ? KEYCHAIN_SERVICE : parseText(ref.service, `${field}.service`, { max: 256, what: 'the keychain service name' });
      return { kind: 'keychain', service, key };
    }
    case 'env':
      return { kind: 'env', name: parseEnvName(ref.name, `${field}.name`) };
    case 'command':
      return { kind: 'command', command: parseCommand(ref.command, `${field}.command`) };
    default:
      throw invalid(`${field}.kind`, ref.kind, 'one of keychain, env, command');
  }
}

/** Loosely typed input: flags, wizard answers, or an entry of an applied file. */
export type AccountInput = Partial<Record<keyof Account, unknown>> & { provisioned?: unknown };

/** A value given at all: neither absent nor blank. */
function given(value: unknown): boolean {
  return value !== undefined && value !== null && !(typeof value === 'string' && value.trim() === '');
}

export interface ParseAccountOptions {
  /**
   * An account read back from a file (config.json, provisioned.json): rules newer than the file are
   * not enforced here, so the file stays readable; such an account is reported (configProblems).
   */
  stored?: boolean;
}

/**
 * Turns raw input into a valid account, filling defaults (port from security, from from user),
 * or throws an EVALUE error naming the first bad field, its value and what is accepted.
 */
export function parseAccount(input: AccountInput, options: ParseAccountOptions = {}): Account {
  const name = parseName(input.name);
  const type = oneOf(input.type, 'type', ACCOUNT_TYPES);
  if (!given(input.host)) throw new MailboxError('EVALUE', 'missing host: expected a host name or IP address', { field: 'host' });
  const security = input.security === undefined ? 'tls' : parseSecurity(input.security);
  const port = given(input.port) ? parsePort(input.port) : defaultPort(type, security);
  const auth = input.auth === undefined ? (type === 'smtp' && !given(input.user) ? 'none' : 'password') : oneOf(input.auth, 'auth', AUTH_METHODS);
  const account: Account = {
    name,
    type,
    host: parseHost(input.host),
    port,
    security,
    auth,
    active: input.active === undefined ? true : parseBoolean(input.active, 'active'),
    debug: input.debug === undefined ? false : parseBoolean(input.debug, 'debug'),
    tls: parseTlsTrust(input.tls),
  };

  if (auth === 'none') {
    if (isIncoming(type)) throw invalid('auth', auth, `password or oauth2 (a ${type} server always needs a login)`);
  } else {
    if (!given(input.user)) throw new MailboxError('EVALUE', `missing user: auth ${auth} needs a user name`, { field: 'user' });
    account.user = parseUser(input.user);
    const hasSecret = input.secret !== undefined && input.secret !== null;
    if (auth === 'oauth2' && given(input.oauth)) {
      // The token manager gets the token: a secret source beside the profile would be a second truth.
      if (hasSecret) throw invalid('oauth', input.oauth, 'either an OAuth profile or a secret source (an access token fetched elsewhere), not both');
      account.oauth = parseName(input.oauth);
      if (given(input.tokenStore)) account.tokenStore = oneOf(input.tokenStore, 'token-store', TOKEN_STORES);
    } else {
      if (!hasSecret) {
        const what = auth === 'oauth2' ? 'an OAuth profile (mailbox oauth add) or a secret source for the access token' : 'a secret source (keychain, env or command)';
        throw new MailboxError('EVALUE', `missing ${auth === 'oauth2' ? 'oauth' : 'password'}: auth ${auth} needs ${what}`, { field: auth === 'oauth2' ? 'oauth' : 'password' });
      }
      account.secret = parseSecretRef(input.secret, 'password');
    }
  }
  if (!account.oauth) {
    for (const field of ['oauth', 'tokenStore'] as const) {
      if (given(input[field])) throw invalid(field === 'oauth' ? 'oauth' : 'token-store', input[field], 'nothing: it applies to accounts with auth oauth2 and an OAuth profile only');
    }
  }
  if (given(input.authMechanism)) account.authMechanism = parseAuthMechanism(String(input.authMechanism).trim(), type, auth);

  if (type === 'smtp') {
    if (given(input.from)) account.from = parseAddress(input.from);
    else if (account.user && isAddress(account.user)) account.from = account.user;
    const noFrom = options.stored ? undefined : missingFrom(account);
    if (noFrom) throw noFrom;
    if (given(input.maxPerMinute)) account.maxPerMinute = parseCount(input.maxPerMinute, 'maxPerMinute', 1, 100_000);
  } else if (given(input.from)) {
    throw invalid('from', input.from, 'nothing: from applies to smtp accounts only');
  } else if (given(input.maxPerMinute)) {
    throw invalid('max-per-minute', input.maxPerMinute, 'nothing: max-per-minute applies to smtp accounts only');
  }

  if (given(input.filter)) account.filter = parseFilterName(input.filter, 'filter');

  if (isIncoming(type)) {
    if (type === 'imap') {
      account.folder = given(input.folder) ? parseFolder(input.folder) : 'INBOX';
      const list = (value: unknown, field: string) => (Array.isArray(value) ? value : [value]).map((v) => parseFolder(v, field));
      if (given(input.folders) && !(Array.isArray(input.folders) && input.folders.length === 0)) account.folders = [...new Set(list(input.folders, 'folders'))];
      if (given(input.excludeFolders) && !(Array.isArray(input.excludeFolders) && input.excludeFolders.length === 0)) {
        if (!account.folders) throw invalid('exclude-folder', input.excludeFolders, 'nothing without several folders (--folder given twice or more, or --folders PATTERN)');
        account.excludeFolders = [...new Set(list(input.excludeFolders, 'exclude-folder'))];
      }
    } else {
      for (const field of ['folder', 'folders', 'excludeFolders'] as const) {
        if (given(input[field])) throw invalid(field, input[field], `nothing: ${field} applies to imap accounts only`);
      }
    }
    // Push is on unless turned off: only `false` is kept, so configs without the field stay as they are.
    if (given(input.push) && !parseBoolean(input.push, 'push')) {
      if (type !== 'imap') throw invalid('push', input.push, 'nothing: push applies to imap accounts only (a pop3 server has no push)');
      account.push = false;
    }
    account.deleteAfterDownload = input.deleteAfterDownload === undefined ? false : parseBoolean(input.deleteAfterDownload, 'deleteAfterDownload');
    if (given(input.maxMessageSize)) account.maxMessageSize = parseSize(input.maxMessageSize, 'maxMessageSize');
    if (given(input.deliver)) account.deliver = destinationText(parseDestination(input.deliver, 'deliver'));
    if (given(input.deliverTo)) {
      if (!account.deliver) throw invalid('deliver-to', input.deliverTo, 'nothing without --deliver: it names the recipient of a hand-off');
      const to = typeof input.deliverTo === 'string' ? input.deliverTo.trim() : '';
      if (!isAddress(to)) throw invalid('deliver-to', input.deliverTo, 'an email address such as ops@example.com');
      account.deliverTo = to;
    }
  } else {
    for (const field of ['folder', 'deleteAfterDownload', 'maxMessageSize', 'push', 'deliver', 'deliverTo'] as const) {
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
  if (given(raw.ca)) trust.ca = parsePath(raw.ca, 'ca');
  if (given(raw.fingerprint)) trust.fingerprint = parseFingerprint(raw.fingerprint);
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
