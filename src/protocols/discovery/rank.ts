// The order of candidates: verified first; per role IMAP before POP3; implicit TLS before STARTTLS
// before none (RFC 8314); then the better source. A server without TLS is offered only when its
// role has nothing with TLS that works.
import { accountWarnings, type AccountType } from '../../core/account.js';
import { sourceRank, type Candidate, type SourceName } from './types.js';

export type Role = 'incoming' | 'outgoing';

const TYPE_ORDER: Record<AccountType, number> = { imap: 0, pop3: 1, smtp: 2 };
const SECURITY_ORDER = { tls: 0, starttls: 1, none: 2 } as const;

export function roleOf(type: AccountType): Role {
  return type === 'smtp' ? 'outgoing' : 'incoming';
}

/** The types of a role among those asked for, in order of preference. */
export function roleTypes(role: Role, types: readonly AccountType[]): AccountType[] {
  return types.filter((t) => roleOf(t) === role).sort((a, b) => TYPE_ORDER[a] - TYPE_ORDER[b]);
}

function verifiedOrder(verified: boolean | null): number {
  return verified === true ? 0 : verified === null ? 1 : 2;
}

export function compareCandidates(a: Candidate, b: Candidate): number {
  return (
    verifiedOrder(a.verified) - verifiedOrder(b.verified) ||
    TYPE_ORDER[a.type] - TYPE_ORDER[b.type] ||
    SECURITY_ORDER[a.security] - SECURITY_ORDER[b.security] ||
    sourceRank(a.source) - sourceRank(b.source)
  );
}

/** The identity of a server: two sources that name the same one make one candidate. */
export function serverKey(c: Pick<Candidate, 'type' | 'host' | 'port' | 'security'>): string {
  return `${c.type} ${c.host.toLowerCase()}:${c.port} ${c.security}`;
}

/** `better` was found by a better source than `c`: it becomes the candidate's source. */
export function preferSource(c: Candidate, better: Omit<Candidate, 'confirmedBy' | 'verified' | 'stages' | 'error'>): void {
  const previous: SourceName = c.source;
  Object.assign(c, { source: better.source, origin: better.origin, auth: better.auth, oauthProvider: better.oauthProvider, user: better.user, warnings: better.warnings });
  c.confirmedBy = [previous, ...c.confirmedBy.filter((s) => s !== better.source)];
}

/** Whether a candidate counts as working: verified, or (without verification) found at all. */
function usable(c: Candidate, verify: boolean): boolean {
  return verify ? c.verified === true : true;
}

/**
 * The final list: best first, grouped by role. A server without TLS stays only when nothing with
 * TLS works for its role, and then carries the warning `add` prints for such an account.
 */
export function rankCandidates(all: Candidate[], verify: boolean): Candidate[] {
  const secureWorks = (role: Role) => all.some((c) => roleOf(c.type) === role && c.security !== 'none' && usable(c, verify));
  const kept = all.filter((c) => c.security !== 'none' || !secureWorks(roleOf(c.type)));
  for (const c of kept) {
    if (c.security !== 'none') continue;
    for (const w of accountWarnings({ name: `${c.host}:${c.port}`, type: c.type, host: c.host, port: c.port, security: c.security, auth: c.auth, active: true, debug: false, tls: {} })) {
      if (!c.warnings.includes(w)) c.warnings.push(w);
    }
  }
  return kept.sort((a, b) => (roleOf(a.type) === roleOf(b.type) ? compareCandidates(a, b) : roleOf(a.type) === 'incoming' ? -1 : 1));
}
