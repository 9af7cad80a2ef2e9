// OAuth 2.0 profiles: one per identity provider and app registration (client id, tenant, scopes,
// endpoints), named by the accounts that log in with it. The presets hold what Microsoft and Google
// publish; a `generic` profile names its endpoints itself. A client secret is a secret reference like
// a password, never a value. No I/O here: the flows are in protocols/oauth, the tokens in the store.
import { parseName, parseSecretRef, TOKEN_STORES, type Account, type SecretRef, type TokenStoreKind } from './account.js';
import { invalid, MailboxError, shown } from './errors.js';
import { oneOf, parsePort, parseText } from './validate.js';

export const OAUTH_PROVIDERS = ['microsoft', 'google', 'generic'] as const;
export type OAuthProvider = (typeof OAUTH_PROVIDERS)[number];

export const OAUTH_FLOWS = ['device', 'browser', 'client-credentials'] as const;
export type OAuthFlow = (typeof OAUTH_FLOWS)[number];

export { TOKEN_STORES, type TokenStoreKind };

export interface OAuthProfile {
  name: string;
  provider: OAuthProvider;
  /** Microsoft: the directory (tenant id, domain, or organizations/common/consumers). */
  tenant?: string;
  clientId: string;
  /** Confidential clients only; public clients send none. */
  clientSecret?: SecretRef;
  /** Replaces the preset's delegated scopes when given. */
  scopes?: string[];
  authUrl?: string;
  tokenUrl?: string;
  deviceUrl?: string;
  /** The loopback port of the browser flow's redirect (default: any free port). */
  redirectPort?: number;
}

/** What a flow needs to know of a profile, presets filled in. */
export interface OAuthEndpoints {
  /** The issuer the authorization server is configured as (not discovered: see protocols/oauth). */
  issuer: string;
  authorizationUrl?: string;
  tokenUrl: string;
  deviceUrl?: string;
  /** Delegated scopes (device and browser flows). */
  scopes: string[];
  /** App-only scopes (client credentials). */
  appScopes: string[];
  defaultFlow: OAuthFlow;
  /** Extra parameters of the authorization request (Google: offline access, consent). */
  authorizationParams: Record<string, string>;
}

const MICROSOFT_HOST = 'https://login.microsoftonline.com';
const OUTLOOK = 'https://outlook.office.com';
export const MICROSOFT_SCOPES = [`${OUTLOOK}/IMAP.AccessAsUser.All`, `${OUTLOOK}/POP.AccessAsUser.All`, `${OUTLOOK}/SMTP.Send`, 'offline_access'];
export const MICROSOFT_APP_SCOPES = ['https://outlook.office365.com/.default'];
export const GOOGLE_SCOPES = ['https://mail.google.com/'];
export const MICROSOFT_DEFAULT_TENANT = 'organizations';

/** The preset endpoints and scopes of a profile, with its own settings laid over them. */
export function oauthEndpoints(profile: OAuthProfile): OAuthEndpoints {
  const own = profile.scopes?.length ? profile.scopes : undefined;
  switch (profile.provider) {
    case 'microsoft': {
      const base = `${MICROSOFT_HOST}/${encodeURIComponent(profile.tenant ?? MICROSOFT_DEFAULT_TENANT)}`;
      return {
        issuer: `${base}/v2.0`,
        authorizationUrl: profile.authUrl ?? `${base}/oauth2/v2.0/authorize`,
        tokenUrl: profile.tokenUrl ?? `${base}/oauth2/v2.0/token`,
        deviceUrl: profile.deviceUrl ?? `${base}/oauth2/v2.0/devicecode`,
        scopes: own ?? MICROSOFT_SCOPES,
        appScopes: MICROSOFT_APP_SCOPES,
        defaultFlow: 'device',
        authorizationParams: {},
      };
    }
    case 'google':
      return {
        issuer: 'https://accounts.google.com',
        authorizationUrl: profile.authUrl ?? 'https://accounts.google.com/o/oauth2/v2/auth',
        tokenUrl: profile.tokenUrl ?? 'https://oauth2.googleapis.com/token',
        deviceUrl: profile.deviceUrl ?? 'https://oauth2.googleapis.com/device/code',
        scopes: own ?? GOOGLE_SCOPES,
        appScopes: own ?? GOOGLE_SCOPES,
        // Google refuses the mail scope on the device flow (invalid_scope).
        defaultFlow: 'browser',
        // Without both, Google hands out no refresh token (or only on the very first consent).
        authorizationParams: { access_type: 'offline', prompt: 'consent' },
      };
    case 'generic': {
      const tokenUrl = profile.tokenUrl!;
      return {
        issuer: new URL(tokenUrl).origin,
        authorizationUrl: profile.authUrl,
        tokenUrl,
        deviceUrl: profile.deviceUrl,
        scopes: own ?? [],
        appScopes: own ?? [],
        defaultFlow: profile.deviceUrl ? 'device' : 'browser',
        authorizationParams: {},
      };
    }
  }
}

/** The flows a profile can run (its endpoints; client credentials needs a client secret). */
export function flowsOf(profile: OAuthProfile): OAuthFlow[] {
  const e = oauthEndpoints(profile);
  const flows: OAuthFlow[] = [];
  if (e.deviceUrl) flows.push('device');
  if (e.authorizationUrl) flows.push('browser');
  // Google has no client credentials for Gmail (app-only access there is a service account with
  // domain-wide delegation, another grant); a desktop client's secret is only sent with its requests.
  if (profile.clientSecret && profile.provider !== 'google') flows.push('client-credentials');
  return flows;
}

/** Checks that a profile can run `flow`; the reason in words when it cannot. */
export function assertFlow(profile: OAuthProfile, flow: OAuthFlow): void {
  if (flowsOf(profile).includes(flow)) {
    const refused = providerRefusal(profile, flow);
    if (refused) throw new MailboxError('EVALUE', `OAuth profile ${profile.name} cannot run the ${flow} flow: ${refused.why}`, { field: 'flow', hint: refused.hint });
    return;
  }
  const why =
    flow === 'client-credentials'
      ? profile.provider === 'google'
        ? 'Google offers no client credentials grant for mail'
        : 'it needs a client secret (a confidential client)'
      : `the profile has no ${flow === 'device' ? 'device authorization' : 'authorization'} endpoint`;
  throw new MailboxError('EVALUE', `OAuth profile ${profile.name} cannot run the ${flow} flow: ${why}`, {
    field: 'flow',
    hint: `flows it can run: ${flowsOf(profile).join(', ') || 'none'}`,
  });
}

/** What a provider is known to refuse, said before anyone is sent to sign in. */
function providerRefusal(profile: OAuthProfile, flow: OAuthFlow): { why: string; hint: string } | undefined {
  if (profile.provider === 'google' && flow === 'device' && oauthEndpoints(profile).scopes.includes(GOOGLE_SCOPES[0]!)) {
    return { why: `Google refuses the scope ${GOOGLE_SCOPES[0]} on the device flow (invalid_scope)`, hint: 'use the browser flow (on a machine without a browser: --no-browser, then paste the address the browser ends at)' };
  }
  const tenant = (profile.tenant ?? MICROSOFT_DEFAULT_TENANT).toLowerCase();
  if (profile.provider === 'microsoft' && flow === 'client-credentials' && ['organizations', 'common', 'consumers'].includes(tenant)) {
    return { why: `app-only access is granted in one tenant, not in "${tenant}"`, hint: 'give the profile the tenant id or domain (oauth add ... --tenant contoso.onmicrosoft.com)' };
  }
  return undefined;
}

const TENANT = /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,512}$/;

/** An https URL (an endpoint of the authorization server). */
export function parseHttpsUrl(value: unknown, field: string): string {
  const text = parseText(value, field, { max: 2048, what: 'an https URL' });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(field, value, 'an https URL such as https://login.example.com/oauth2/token');
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.hash) {
    throw invalid(field, value, 'an https URL without user, password or fragment (tokens never travel over plain http)');
  }
  return url.href;
}

export function parseScope(value: unknown, field = 'scope'): string {
  const text = typeof value === 'string' ? value.trim() : '';
  if (!SCOPE.test(text)) throw invalid(field, value, 'an OAuth scope: printable characters without spaces, quotes or backslashes (give --scope once per scope)');
  return text;
}

export function parseTenant(value: unknown, field = 'tenant'): string {
  const text = typeof value === 'string' ? value.trim() : '';
  if (!TENANT.test(text)) throw invalid(field, value, 'a tenant id (a GUID), a domain such as contoso.onmicrosoft.com, or organizations, common, consumers');
  return text;
}

export function parseClientId(value: unknown, field = 'client-id'): string {
  return parseText(value, field, { max: 512, what: 'the client (application) id of the app registration' });
}

export function parseProvider(value: unknown, field = 'provider'): OAuthProvider {
  return oneOf(value, field, OAUTH_PROVIDERS);
}

export function parseFlow(value: unknown, field = 'flow'): OAuthFlow {
  return oneOf(value, field, OAUTH_FLOWS);
}

export function parseTokenStore(value: unknown, field = 'token-store'): TokenStoreKind {
  return oneOf(value, field, TOKEN_STORES);
}

function given(value: unknown): boolean {
  return value !== undefined && value !== null && !(typeof value === 'string' && value.trim() === '');
}

export type OAuthProfileInput = Partial<Record<keyof OAuthProfile, unknown>>;

/** Turns raw input (flags, an entry of config.json or an applied file) into a valid profile. */
export function parseOAuthProfile(input: OAuthProfileInput): OAuthProfile {
  const name = parseName(input.name);
  const provider = parseProvider(input.provider);
  if (!given(input.clientId)) throw new MailboxError('EVALUE', 'missing client-id: the application (client) id of the app registration', { field: 'client-id' });
  const profile: OAuthProfile = { name, provider, clientId: parseClientId(input.clientId) };
  if (given(input.tenant)) {
    if (provider !== 'microsoft') throw invalid('tenant', input.tenant, 'nothing: a tenant applies to microsoft profiles only');
    profile.tenant = parseTenant(input.tenant);
  }
  if (given(input.clientSecret)) profile.clientSecret = parseSecretRef(input.clientSecret, 'client-secret');
  if (input.scopes !== undefined && input.scopes !== null) {
    if (!Array.isArray(input.scopes)) throw invalid('scope', input.scopes, 'a list of scopes');
    const scopes = [...new Set(input.scopes.map((s) => parseScope(s)))];
    if (scopes.length) profile.scopes = scopes;
  }
  for (const [key, field] of [['authUrl', 'auth-url'], ['tokenUrl', 'token-url'], ['deviceUrl', 'device-url']] as const) {
    if (given(input[key])) profile[key] = parseHttpsUrl(input[key], field);
  }
  if (given(input.redirectPort)) profile.redirectPort = parsePort(input.redirectPort, 'redirect-port');
  if (provider === 'generic') {
    if (!profile.tokenUrl) throw new MailboxError('EVALUE', 'missing token-url: a generic profile needs the token endpoint', { field: 'token-url' });
    if (!profile.deviceUrl && !profile.authUrl) {
      throw new MailboxError('EVALUE', 'missing device-url or auth-url: a generic profile needs at least one of the device authorization and the authorization endpoint', { field: 'device-url' });
    }
  }
  return profile;
}

/** An account's OAuth 2.0 profile, or the configuration problem of naming one that does not exist. */
export function profileOf(profiles: readonly OAuthProfile[], account: Pick<Account, 'name' | 'oauth'>): OAuthProfile | undefined {
  if (!account.oauth) return undefined;
  const wanted = account.oauth.toLowerCase();
  const found = profiles.find((p) => p.name.toLowerCase() === wanted);
  if (found) return found;
  throw new MailboxError('ECONFIG', `account ${account.name} names the OAuth profile ${shown(account.oauth)}, which does not exist`, {
    account: account.name,
    field: 'oauth',
    hint: 'create it (mailbox oauth add), or name another profile (mailbox oauth list shows them)',
    fixes: [{ field: 'oauth', value: 'PROFILE' }],
  });
}

/** The accounts that log in with a profile. */
export function accountsUsingProfile<T extends Pick<Account, 'oauth'>>(accounts: readonly T[], name: string): T[] {
  return accounts.filter((a) => a.oauth?.toLowerCase() === name.toLowerCase());
}

/** The profiles in effect: the administrator's (provisioned) first; a user's profile of the same name is hidden. */
export function profilesInEffect(own: readonly OAuthProfile[], provisioned: readonly OAuthProfile[]): OAuthProfile[] {
  const taken = new Set(provisioned.map((p) => p.name.toLowerCase()));
  return [...provisioned, ...own.filter((p) => !taken.has(p.name.toLowerCase()))];
}

/** A secret reference in words: "environment variable X", "keychain entry mailbox/x", "command". */
export function secretSourceWords(ref: SecretRef | undefined): string {
  if (!ref) return 'nothing';
  if (ref.kind === 'env') return `environment variable ${ref.name}`;
  if (ref.kind === 'keychain') return `keychain entry ${ref.service}/${ref.key}`;
  return 'secret command';
}
