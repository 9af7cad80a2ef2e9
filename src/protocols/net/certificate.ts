// What a server's certificate and TLS session look like, in words and data for `mailbox test`.
import { X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import { judgePeer, type HandshakePlan, type TrustKind } from './trust.js';

export interface CertificateInfo {
  subject: string;
  issuer: string;
  /** ISO dates. */
  validFrom: string;
  validTo: string;
  /** Whole days until expiry (negative once expired). */
  expiresInDays: number;
  fingerprint256: string;
  selfSigned: boolean;
  altNames: string | null;
}

export interface TlsSessionInfo {
  protocol: string | null;
  cipher: string | null;
  certificate: CertificateInfo | null;
  trust: TrustKind;
  /** Whether the peer passed the account's trust (system/CA chain + host name, or the pin). */
  verified: boolean;
  /** Node/OpenSSL's reason when the chain or host name did not verify. */
  authorizationError: string | null;
}

export function describeCertificate(cert: tls.PeerCertificate, now = new Date()): CertificateInfo {
  const x509 = cert.raw ? new X509Certificate(cert.raw) : undefined;
  const validTo = new Date(cert.valid_to);
  const oneLine = (dn: string | undefined) => (dn ?? '').split('\n').filter(Boolean).join(', ');
  const subject = x509 ? oneLine(x509.subject) : JSON.stringify(cert.subject ?? {});
  const issuer = x509 ? oneLine(x509.issuer) : JSON.stringify(cert.issuer ?? {});
  return {
    subject,
    issuer,
    validFrom: new Date(cert.valid_from).toISOString(),
    validTo: validTo.toISOString(),
    expiresInDays: Math.floor((validTo.getTime() - now.getTime()) / 86_400_000),
    fingerprint256: cert.fingerprint256,
    selfSigned: x509 ? x509.checkIssued(x509) && x509.verify(x509.publicKey) : subject === issuer,
    altNames: cert.subjectaltname ?? null,
  };
}

export function describeTlsSession(socket: tls.TLSSocket, plan: HandshakePlan, now = new Date()): TlsSessionInfo {
  const cert = socket.getPeerCertificate();
  const verdict = judgePeer(socket, plan, now);
  return {
    protocol: socket.getProtocol() ?? null,
    cipher: socket.getCipher()?.name ?? null,
    certificate: cert && cert.fingerprint256 ? describeCertificate(cert, now) : null,
    trust: plan.trust,
    verified: verdict.verified,
    authorizationError: socket.authorized ? null : String(socket.authorizationError ?? '') || null,
  };
}

/** PEM text of a presented certificate. */
export function certificatePem(cert: tls.PeerCertificate): string {
  return new X509Certificate(cert.raw).toString();
}

