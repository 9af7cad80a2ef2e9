// The shape of config.json and of export/apply/provisioned files.
import { parseAccount, type Account, type AccountInput } from './account.js';
import { MailboxError, shown } from './errors.js';
import { parseFilter, type AddressFilter } from './filter.js';
import { parseOAuthProfile, type OAuthProfile, type OAuthProfileInput } from './oauth.js';
import { parseSettingsMap, type SettingsMap } from './settings.js';

const CONFIG_VERSION = 1;

export interface Config {
  version: number;
  accounts: Account[];
  filters: AddressFilter[];
  /** The user's on/off choice for provisioned accounts, by lower-cased name. */
  provisionedActive: Record<string, boolean>;
  /** OAuth 2.0 profiles; absent when there are none (files written before profiles existed stay as they were). */
  oauthProfiles?: OAuthProfile[];
  /** Operating settings (core/settings.ts); absent when none is set. */
  settings?: SettingsMap;
}

/** What `mailbox export` prints and `apply` and provisioned.json read. */
export interface AccountsDocument {
  accounts: Account[];
  filters: AddressFilter[];
  /** Absent when there are none. */
  oauthProfiles?: OAuthProfile[];
  /** Operating settings; absent when the document says nothing about them (apply leaves them as they are). */
  settings?: SettingsMap;
}

/** The OAuth 2.0 profiles of a config or document. */
export function profilesOf(doc: Pick<AccountsDocument, 'oauthProfiles'>): OAuthProfile[] {
  return doc.oauthProfiles ?? [];
}

/** `doc` with these profiles: the key left out when there are none. */
export function withProfiles<T extends Pick<AccountsDocument, 'oauthProfiles'>>(doc: T, profiles: OAuthProfile[]): T {
  const { oauthProfiles: _old, ...rest } = doc;
  return (profiles.length ? { ...rest, oauthProfiles: profiles } : rest) as T;
}

export function emptyConfig(): Config {
  return { version: CONFIG_VERSION, accounts: [], filters: [], provisionedActive: {} };
}

function problem(source: string, detail: string, cause?: unknown, field?: string): MailboxError {
  return new MailboxError('ECONFIG', `${source}: ${detail}`, {
    hint: 'the file was left untouched; fix it by hand or move it away to start afresh',
    cause,
    field,
  });
}

function parseEntries<T>(raw: unknown, key: string, source: string, parse: (entry: Record<string, unknown>) => T): T[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw problem(source, `"${key}" must be a list`);
  return raw.map((entry, i) => {
    if (!entry || typeof entry !== 'object') throw problem(source, `${key}[${i}] must be an object`);
    try {
      return parse(entry as Record<string, unknown>);
    } catch (err) {
      if (err instanceof MailboxError) {
        const named = typeof (entry as { name?: unknown }).name === 'string' ? ` (${(entry as { name: string }).name})` : '';
        throw problem(source, `${key}[${i}]${named}: ${err.message}`, err, err.field);
      }
      throw err;
    }
  });
}

function assertUnique(names: string[], what: string, source: string): void {
  const seen = new Set<string>();
  for (const name of names) {
    const key = name.toLowerCase();
    if (seen.has(key)) throw problem(source, `two ${what} are named ${shown(name)} (names are case-insensitive)`);
    seen.add(key);
  }
}

/** Parses an accounts document (export, apply, provisioned.json); `source` names the file in errors. */
export function parseAccountsDocument(raw: unknown, source: string): AccountsDocument {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw problem(source, 'expected an object with "accounts" and "filters"');
  const doc = raw as Record<string, unknown>;
  const accounts = parseEntries(doc.accounts, 'accounts', source, (e) => parseAccount(e as AccountInput, { stored: true }));
  const filters = parseEntries(doc.filters, 'filters', source, parseFilter);
  const profiles = parseEntries(doc.oauthProfiles, 'oauthProfiles', source, (e) => parseOAuthProfile(e as OAuthProfileInput));
  assertUnique(accounts.map((a) => a.name), 'accounts', source);
  assertUnique(filters.map((f) => f.name), 'filters', source);
  assertUnique(profiles.map((p) => p.name), 'OAuth profiles', source);
  let settings: SettingsMap | undefined;
  try {
    settings = doc.settings === undefined ? undefined : parseSettingsMap(doc.settings);
  } catch (err) {
    throw problem(source, `settings: ${(err as Error).message}`, err, (err as MailboxError).field);
  }
  return withSettings(withProfiles<AccountsDocument>({ accounts, filters }, profiles), settings);
}

/** `doc` with these settings: the key left out when there are none. */
export function withSettings<T extends Pick<AccountsDocument, 'settings'>>(doc: T, settings: SettingsMap | undefined): T {
  const { settings: _old, ...rest } = doc;
  return (settings && Object.keys(settings).length ? { ...rest, settings } : rest) as T;
}

export function parseConfig(raw: unknown, source: string): Config {
  const doc = parseAccountsDocument(raw, source);
  const record = raw as Record<string, unknown>;
  if (record.version !== undefined && record.version !== CONFIG_VERSION) {
    throw problem(source, `unsupported version ${shown(record.version)} (this mailbox reads version ${CONFIG_VERSION})`);
  }
  const provisionedActive: Record<string, boolean> = {};
  const rawActive = record.provisionedActive ?? {};
  if (typeof rawActive !== 'object' || Array.isArray(rawActive)) throw problem(source, '"provisionedActive" must be an object');
  for (const [name, value] of Object.entries(rawActive as Record<string, unknown>)) {
    if (typeof value !== 'boolean') throw problem(source, `provisionedActive.${shown(name)} must be true or false`);
    provisionedActive[name.toLowerCase()] = value;
  }
  return withSettings(withProfiles<Config>({ version: CONFIG_VERSION, accounts: doc.accounts, filters: doc.filters, provisionedActive }, profilesOf(doc)), doc.settings);
}
