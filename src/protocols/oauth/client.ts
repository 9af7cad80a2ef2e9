// The OAuth 2.0 side, as a protocol adapter like IMAP or SMTP: openid-client (on oauth4webapi)
// configured from the profile's endpoints instead of discovery (Microsoft's /common and
// /organizations metadata name an issuer with a {tenantid} placeholder that strict clients reject,
// and Google's device endpoint is not in its metadata at all). Public clients send no secret, on
// refresh too; confidential ones send theirs in the body (client_secret_post), which both providers take.
import type * as OpenId from 'openid-client';
import type { OAuthEndpoints } from '../../core/oauth.js';
import { fetchWithLookup } from '../net/lookup-fetch.js';
import type { LookupFn } from '../net/socket.js';
import { oauthFailure } from './failures.js';

export interface OAuthClient {
  endpoints: OAuthEndpoints;
  clientId: string;
  /** Resolved from its reference by the caller; absent for a public client. */
  clientSecret?: string;
  /** Ends a request under way (a deadline of the caller's), besides each request's own timeout. */
  signal?: AbortSignal;
  /** MAILBOX_DNS_SERVERS: the endpoints' host names resolved through it; absent: the system's. */
  lookup?: LookupFn;
}

export interface TokenResult {
  accessToken: string;
  refreshToken?: string;
  /** ms since the epoch; absent when the server gave no expires_in. */
  expiresAt?: number;
  scope?: string;
}

/** Seconds one token request may take. */
const REQUEST_TIMEOUT_S = 30;

export async function configuration(client: OAuthClient): Promise<{ oidc: typeof OpenId; config: OpenId.Configuration }> {
  const oidc = await import('openid-client');
  const { endpoints } = client;
  const server: OpenId.ServerMetadata = {
    issuer: endpoints.issuer,
    token_endpoint: endpoints.tokenUrl,
    ...(endpoints.authorizationUrl ? { authorization_endpoint: endpoints.authorizationUrl } : {}),
    ...(endpoints.deviceUrl ? { device_authorization_endpoint: endpoints.deviceUrl } : {}),
  };
  const auth = client.clientSecret ? oidc.ClientSecretPost(client.clientSecret) : oidc.None();
  const config = new oidc.Configuration(server, client.clientId, undefined, auth);
  config.timeout = REQUEST_TIMEOUT_S;
  const { signal, lookup } = client;
  if (signal || lookup) {
    const base = lookup ? fetchWithLookup(lookup) : fetch;
    const bounded = (own: AbortSignal | undefined) => (signal ? { signal: own ? AbortSignal.any([own, signal]) : signal } : {});
    config[oidc.customFetch] = (url, options) => base(url, { ...options, ...bounded(options.signal) } as RequestInit);
  }
  return { oidc, config };
}

/** What a token endpoint answered, as mailbox keeps it. */
export function tokenResult(response: OpenId.TokenEndpointResponse, now: number): TokenResult {
  const result: TokenResult = { accessToken: response.access_token };
  if (response.refresh_token) result.refreshToken = response.refresh_token;
  if (typeof response.expires_in === 'number') result.expiresAt = now + response.expires_in * 1000;
  if (response.scope) result.scope = response.scope;
  return result;
}

/** The refresh token grant. A rotated refresh token comes back in the result (refreshToken). */
export async function refreshGrant(client: OAuthClient, refreshToken: string, scopes: readonly string[], account: string, now: () => number): Promise<TokenResult> {
  const { oidc, config } = await configuration(client);
  try {
    // The scopes are asked again: Microsoft otherwise answers with a token for its default resource.
    const response = await oidc.refreshTokenGrant(config, refreshToken, scopes.length ? { scope: scopes.join(' ') } : undefined);
    return tokenResult(response, now());
  } catch (err) {
    throw oauthFailure(err, `refreshing the OAuth token of account ${account}`, account);
  }
}

/** The client credentials grant (app-only access; the secret is the client's). */
export async function clientCredentialsGrant(client: OAuthClient, scopes: readonly string[], account: string, now: () => number): Promise<TokenResult> {
  const { oidc, config } = await configuration(client);
  try {
    const response = await oidc.clientCredentialsGrant(config, scopes.length ? { scope: scopes.join(' ') } : undefined);
    return tokenResult(response, now());
  } catch (err) {
    throw oauthFailure(err, `getting an app-only token for account ${account}`, account);
  }
}
