// The certificate a server presents, for the wizard's pin question: fetched by the protocols' own
// certificate fetch (implicit TLS, or after STARTTLS/STLS), without trusting it. Loaded only when
// the question is asked.
import type { Account } from '../core/account.js';
import type { LookupFn } from '../protocols/net/socket.js';

/** What a certificate fetch connects to. */
export type CertificateTarget = Pick<Account, 'name' | 'type' | 'host' | 'port' | 'security'>;

export interface ServerCertificate {
  fingerprint: string;
  subject: string;
  issuer: string;
  /** ISO 8601. */
  expires: string;
}

const FETCH_TIMEOUT_MS = 10_000;

function name(fields: { CN?: string | string[]; O?: string | string[] } | undefined): string {
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const cn = first(fields?.CN);
  const o = first(fields?.O);
  return cn ? `CN=${cn}` : o ? `O=${o}` : 'no name';
}

/** `lookup`: MAILBOX_DNS_SERVERS, the host name resolved through it; absent: the system's. */
export async function fetchServerCertificate(target: CertificateTarget, lookup?: LookupFn): Promise<ServerCertificate> {
  const [{ fetchPeerCertificate }, { handshakePlan }] = await Promise.all([import('../protocols/net/certificate-fetch.js'), import('../protocols/net/trust.js')]);
  const account = { ...target, tls: {} };
  const cert = await fetchPeerCertificate(account, await handshakePlan(account), FETCH_TIMEOUT_MS, lookup);
  return { fingerprint: cert.fingerprint256, subject: name(cert.subject), issuer: name(cert.issuer), expires: new Date(cert.valid_to).toISOString() };
}
