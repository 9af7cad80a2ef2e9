// TLS options for the libraries (imapflow, nodemailer), which enforce trust themselves. A pin cannot
// be enforced with `rejectUnauthorized:false` + `checkServerIdentity`: Node skips checkServerIdentity
// when the chain does not verify (self-signed). So the server's chain is fetched first, the pinned
// certificate found in it is made the only trust anchor (`ca` + `allowPartialTrustChain`), and a
// checkServerIdentity compares fingerprints.
import type tls from 'node:tls';
import { certificatePem } from './certificate.js';
import { fetchPeerCertificate } from './certificate-fetch.js';
import { baseOptions, handshakePlan, pinnedCertificate, trustKind, untrustedCertificate, type TlsAccount, type TlsDeps } from './trust.js';

const DEFAULT_FETCH_TIMEOUT_MS = 15_000;

/**
 * tls.ConnectionOptions for a library (imapflow `tls`, nodemailer `tls`) connecting for `account`.
 * Verification is on unless the account is explicitly insecure. For a pinned account this makes one
 * handshake of its own first (implicit TLS, or after STARTTLS/STLS) to fetch the pinned certificate,
 * and fails with ETLS when the server does not present it.
 */
export async function connectionTls(account: TlsAccount, deps: TlsDeps = {}): Promise<tls.ConnectionOptions> {
  const trust = trustKind(account.tls);
  const options = await baseOptions(account, deps);
  if (trust === 'insecure') return { ...options, rejectUnauthorized: false };
  if (trust !== 'fingerprint') return { ...options, rejectUnauthorized: true };
  const plan = await handshakePlan(account, deps);
  const fetch = deps.fetchPeerCertificate ?? fetchPeerCertificate;
  const presented = await fetch(account, plan, deps.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS, deps.lookup);
  const pinned = pinnedCertificate(presented, plan.pin!);
  if (!pinned) {
    const detail = `the certificate of ${account.host}:${account.port} (fingerprint ${presented.fingerprint256}) does not match the pinned ${plan.pin}`;
    throw untrustedCertificate(account, detail, presented.fingerprint256, 'pin mismatch');
  }
  const pin = plan.pin!;
  return {
    ...options,
    rejectUnauthorized: true,
    ca: [certificatePem(pinned)],
    allowPartialTrustChain: true,
    // Reached only when the chain verified against the pinned certificate; the host name is not
    // checked for a pinned certificate (the pin is the identity), the fingerprint is, again.
    checkServerIdentity: (_host, cert) =>
      pinnedCertificate(cert, pin) ? undefined : new Error(`certificate fingerprint ${cert.fingerprint256} does not match the pinned ${pin}`),
  };
}
