// What an access token says about itself, for `mailbox test`: a JWT's claims decoded, not verified
// (the mail server verifies it). Opaque tokens (Google's) say nothing.
import { decodeJwt } from 'jose';

export interface TokenClaims {
  aud?: string;
  scp?: string;
  roles?: string[];
  tid?: string;
  upn?: string;
  /** Expiry the token itself carries, ms since the epoch. */
  exp?: number;
}

export function tokenClaims(token: string): TokenClaims | undefined {
  if (token.split('.').length !== 3) return undefined;
  try {
    const c = decodeJwt(token) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const claims: TokenClaims = {};
    const aud = Array.isArray(c.aud) ? c.aud.join(' ') : text(c.aud);
    if (aud) claims.aud = aud;
    if (text(c.scp)) claims.scp = text(c.scp);
    if (Array.isArray(c.roles)) claims.roles = c.roles.filter((r): r is string => typeof r === 'string');
    if (text(c.tid)) claims.tid = text(c.tid);
    const upn = text(c.upn) ?? text(c.preferred_username) ?? text(c.unique_name);
    if (upn) claims.upn = upn;
    if (typeof c.exp === 'number') claims.exp = c.exp * 1000;
    return claims;
  } catch {
    return undefined;
  }
}
