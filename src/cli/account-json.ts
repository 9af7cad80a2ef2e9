// An account as the CLI shows it: the JSON of list/show/add/edit (the secret's source, never the
// secret), the one shape of a secret reference in every output, and the words of the text views.
import type { Account, AccountView, SecretRef } from '../core/account.js';
import type { AddressFilter } from '../core/filter.js';
import { directionOf } from '../core/rules.js';

/**
 * A secret reference as every command prints it (list, show, add/edit --json, export): `kind` and
 * `ref` (a display form: "mailbox/work", the variable, the command line; null for none) and the
 * kind's own keys as the config keeps them (`service` and `key`, `name`, `command`), which is what
 * `apply` and provisioned.json read.
 */
export type SecretJson =
  | { kind: 'keychain'; ref: string; service: string; key: string }
  | { kind: 'env'; ref: string; name: string }
  | { kind: 'command'; ref: string; command: string }
  | { kind: 'none'; ref: null };

export function secretJson(ref: SecretRef | undefined): SecretJson {
  if (!ref) return { kind: 'none', ref: null };
  if (ref.kind === 'keychain') return { kind: 'keychain', ref: `${ref.service}/${ref.key}`, service: ref.service, key: ref.key };
  if (ref.kind === 'env') return { kind: 'env', ref: ref.name, name: ref.name };
  return { kind: 'command', ref: ref.command, command: ref.command };
}

/** A secret source in words: "keychain entry mailbox/work", "environment variable PW", "command pass show x". */
export function secretWords(ref: SecretRef | undefined): string {
  const s = secretJson(ref);
  if (s.kind === 'keychain') return `keychain entry ${s.ref}`;
  if (s.kind === 'env') return `environment variable ${s.ref}`;
  if (s.kind === 'command') return `command ${s.ref}`;
  return 'none';
}

/** The secret as list and show print it: "keychain mailbox/work", "env WORK_PW", "command pass show x", "-". */
export function secretCell(ref: SecretRef | undefined): string {
  const s = secretJson(ref);
  return s.kind === 'none' ? '-' : `${s.kind} ${s.ref}`;
}

/** An account in a document for `apply` or provisioned.json (export): as stored, the secret in the one shape. */
export function documentAccount(account: Account): Record<string, unknown> {
  return account.secret ? { ...account, secret: secretJson(account.secret) } : { ...account };
}

export function accountJson(a: AccountView) {
  return {
    name: a.name,
    type: a.type,
    host: a.host,
    port: a.port,
    security: a.security,
    auth: a.auth,
    authMechanism: a.authMechanism ?? null,
    user: a.user ?? null,
    from: a.from ?? null,
    active: a.active,
    provisioned: a.provisioned,
    debug: a.debug,
    filter: a.filter ?? null,
    secret: secretJson(a.secret),
    oauth: a.oauth ?? null,
    tokenStore: a.oauth ? (a.tokenStore ?? 'keychain') : null,
    folder: a.folder ?? null,
    folders: a.folders ?? null,
    excludeFolders: a.excludeFolders ?? null,
    deleteAfterDownload: a.type === 'smtp' ? null : Boolean(a.deleteAfterDownload),
    maxMessageSize: a.maxMessageSize ?? null,
    maxPerMinute: a.type === 'smtp' ? (a.maxPerMinute ?? null) : null,
    push: a.type === 'imap' ? a.push !== false : null,
    deliver: a.deliver ?? null,
    deliverTo: a.deliverTo ?? null,
    tls: { ca: a.tls.ca ?? null, fingerprint: a.tls.fingerprint ?? null, insecure: Boolean(a.tls.insecure) },
  };
}

/** 20971520 -> "20 MB": sizes for people (1 KB = 1024 bytes, as --max-size reads them). */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : Number(value.toFixed(1))} ${units[unit]}`;
}

/** list's FLAGS column: what is out of the ordinary. */
export function accountFlags(a: AccountView): string {
  return [a.provisioned ? 'provisioned' : '', a.debug ? 'debug' : '', a.tls.insecure ? 'insecure' : ''].filter(Boolean).join(',') || '-';
}

function trustWords(a: Account): string {
  if (a.security === 'none') return '- (no TLS)';
  if (a.tls.insecure) return 'not verified (insecure)';
  if (a.tls.fingerprint) return `pinned SHA-256 ${a.tls.fingerprint}`;
  if (a.tls.ca) return `the system trust store and the CA file ${a.tls.ca}`;
  return 'the system trust store';
}

function filterWords(a: Account, filters: readonly AddressFilter[]): string {
  const direction = directionOf(a.type);
  if (a.filter) return a.filter;
  const fallback = filters.find((f) => f.direction === direction && f.default);
  return fallback ? `${fallback.name} (the default ${direction} filter)` : `none (no default ${direction} filter)`;
}

/** `show`: the account field by field, in the words and forms `list` uses. */
export function accountLines(a: AccountView, filters: readonly AddressFilter[]): Array<[string, string]> {
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  const lines: Array<[string, string]> = [
    ['name', a.name],
    ['type', a.type],
    ['server', `${a.host}:${a.port}`],
    ['security', a.security],
    ['certificate', trustWords(a)],
    ['auth', a.auth],
    ['user', a.user ?? '-'],
    ['secret', secretCell(a.secret)],
  ];
  if (a.type === 'smtp') lines.push(['from', a.from ?? '-'], ['max per minute', a.maxPerMinute === undefined ? 'no limit' : String(a.maxPerMinute)]);
  if (a.type === 'imap') {
    lines.push(['folder', a.folders ? `${a.folders.join(', ')}${a.excludeFolders ? ` (not ${a.excludeFolders.join(', ')})` : ''}` : (a.folder ?? 'INBOX')]);
    lines.push(['push', a.push === false ? 'off (polled only)' : 'on (IMAP IDLE when the server offers it)']);
  }
  if (a.type !== 'smtp') {
    lines.push(['on the server', a.deleteAfterDownload ? 'deleted once stored' : 'kept']);
    lines.push(['max size', a.maxMessageSize === undefined ? 'no limit' : formatBytes(a.maxMessageSize)]);
    lines.push(['delivered to', a.deliver ? `${a.deliver} (for ${a.deliverTo ?? a.user ?? '-'}), after the inbox` : 'the inbox']);
  }
  lines.push(['filter', filterWords(a, filters)], ['active', yes(a.active)], ['provisioned', yes(a.provisioned)], ['debug', a.debug ? 'on' : 'off']);
  return lines;
}
