// The `token` stage of `mailbox test`: where the access token came from, when it expires, the scopes
// granted, and what a JWT access token says about itself (decoded, not verified: the server verifies).
import type { Account } from '../../core/account.js';
import { secretSourceWords } from '../../core/oauth.js';
import { tokenClaims } from '../../protocols/oauth/claims.js';
import type { Credential } from '../credentials.js';

export interface TokenStage {
  detail: string;
  data: Record<string, unknown>;
}

function minutes(ms: number): string {
  const m = Math.round(ms / 60_000);
  if (Math.abs(m) < 90) return `${m} min`;
  return `${Math.round(m / 60)} h`;
}

const STORE_WORDS = { keychain: 'keychain', file: 'token file', database: 'database' } as const;

export function tokenStage(account: Account, credential: Credential, now: Date): TokenStage {
  const token = credential.token;
  const claims = tokenClaims(credential.secret);
  const expiresAt = token?.expiresAt ?? claims?.exp;
  const source = token ? `${token.source} (${STORE_WORDS[token.store]}, profile ${token.profile})` : `from the ${secretSourceWords(account.secret)}`;
  const parts = [source];
  if (expiresAt) {
    const left = expiresAt - now.getTime();
    parts.push(left > 0 ? `expires ${new Date(expiresAt).toISOString().slice(0, 19).replace('T', ' ')} UTC (in ${minutes(left)})` : `expired ${minutes(-left)} ago`);
  } else parts.push('expiry unknown');
  if (token?.scope) parts.push(`scopes ${token.scope}`);
  if (claims) {
    const said = [
      claims.aud && `aud ${claims.aud}`,
      claims.scp && `scp ${claims.scp}`,
      claims.roles?.length && `roles ${claims.roles.join(' ')}`,
      claims.tid && `tid ${claims.tid}`,
      claims.upn && `upn ${claims.upn}`,
    ].filter(Boolean);
    if (said.length) parts.push(`JWT ${said.join(', ')}`);
  }
  return {
    detail: parts.join('; '),
    data: {
      source: token?.source ?? 'secret',
      store: token?.store ?? null,
      profile: token?.profile ?? null,
      expiresAt: expiresAt ? new Date(expiresAt).toISOString() : null,
      scopes: token?.scope ? token.scope.split(' ') : null,
      claims: claims ? { aud: claims.aud ?? null, scp: claims.scp ?? null, roles: claims.roles ?? null, tid: claims.tid ?? null, upn: claims.upn ?? null } : null,
    },
  };
}
