// TLS trust for every connection the tool makes: verified by default (Node's root store plus the
// account's CA file), pinned by SHA-256 fingerprint, or explicitly insecure. Our own sockets (POP3
// client, probe, certificate fetch) shake hands with `handshakePlan()` options that never abort the
// handshake, and `verifyPeer()` decides BEFORE any byte of the session is sent, so a failing
// certificate can still be described (subject, fingerprint) in the diagnosis. The libraries get
// options they enforce themselves (library-tls.ts).
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import type { Account } from '../../core/account.js';
import { protocolError } from '../errors.js';
import type { Advice } from './security-advice.js';
import type { LookupFn } from './socket.js';

export type TrustKind = 'system' | 'ca' | 'fingerprint' | 'insecure';

/** The parts of an account that decide how a TLS connection is made and trusted. */
export type TlsAccount = Pick<Account, 'name' | 'type' | 'host' | 'port' | 'security' | 'tls'>;

export interface TlsDeps {
  /** Reads the account's CA file (default: fs.readFile). */
  readFile?: (path: string) => Promise<Buffer | string>;
  /** Deadline for the certificate fetch of a pinned account (default 15 s). */
  timeoutMs?: number;
  /** Fetches the server's certificate chain for a pinned account (default: our own handshake). */
  fetchPeerCertificate?: (account: TlsAccount, plan: HandshakePlan, timeoutMs: number, lookup?: LookupFn) => Promise<tls.DetailedPeerCertificate>;
  /** Resolves the server's name for that fetch (MAILBOX_DNS_SERVERS); default: the system. */
  lookup?: LookupFn;
}

/** How our own sockets shake hands and then judge the peer. */
export interface HandshakePlan {
  trust: TrustKind;
  /** Options for tls.connect: never rejects by itself; verifyPeer() judges. */
  options: tls.ConnectionOptions;
  /** Pinned SHA-256 fingerprint ("AB:CD:.."), for trust 'fingerprint'. */
  pin?: string;
  /** The CA file path, for trust 'ca' (shown in diagnostics). */
  caFile?: string;
}

const MIN_TLS_VERSION = 'TLSv1.2';

export function trustKind(trust: Account['tls']): TrustKind {
  if (trust.insecure) return 'insecure';
  if (trust.fingerprint) return 'fingerprint';
  if (trust.ca) return 'ca';
  return 'system';
}

/** SNI only for host names: RFC 6066 forbids IP literals there (Node warns). */
function serverName(host: string): string | undefined {
  return net.isIP(host) ? undefined : host;
}

async function loadCaFile(account: TlsAccount, deps: TlsDeps): Promise<string> {
  const file = account.tls.ca!;
  try {
    const text = (await (deps.readFile ?? readFile)(file)).toString();
    if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it');
    return text;
  } catch (err) {
    throw protocolError({
      code: 'ECONFIG',
      message: `account ${account.name}: cannot use the CA file ${file}: ${(err as Error).message}`,
      hint: 'give a PEM file with the CA certificate',
      fixes: [{ field: 'ca', value: 'FILE' }],
      account: account.name,
      cause: err,
    });
  }
}

/**
 * One secure context per CA file content, shared by every connection that trusts it. A context built
 * from `ca` parses the whole root store into a store of its own (about 2 MB): built per connection,
 * 200 watching (push) connections held 400 MB. Contexts are immutable once built, so sharing is safe.
 */
const caContexts = new Map<string, tls.SecureContext>();

function caContext(pem: string): tls.SecureContext {
  let context = caContexts.get(pem);
  if (!context) caContexts.set(pem, (context = tls.createSecureContext({ ca: [...tls.rootCertificates, pem], minVersion: MIN_TLS_VERSION })));
  return context;
}

/** Options shared by every plan: the account's CA (added to, not replacing, the root store). */
export async function baseOptions(account: TlsAccount, deps: TlsDeps): Promise<tls.ConnectionOptions> {
  const options: tls.ConnectionOptions = { minVersion: MIN_TLS_VERSION };
  if (trustKind(account.tls) === 'ca') {
    const pem = await loadCaFile(account, deps);
    // `ca` stays for whoever builds a context of their own from these options.
    options.ca = [...tls.rootCertificates, pem];
    options.secureContext = caContext(pem);
  }
  return options;
}

/** For our own sockets: handshake without aborting, then call verifyPeer() before sending anything. */
export async function handshakePlan(account: TlsAccount, deps: TlsDeps = {}): Promise<HandshakePlan> {
  const trust = trustKind(account.tls);
  const options = { ...(await baseOptions(account, deps)), rejectUnauthorized: false };
  const plan: HandshakePlan = { trust, options };
  if (trust === 'fingerprint') plan.pin = account.tls.fingerprint!.toUpperCase();
  if (trust === 'ca') plan.caFile = account.tls.ca;
  return plan;
}

/** tls.connect options for upgrading/opening one of our sockets to `host` under `plan`. */
export function socketTlsOptions(plan: HandshakePlan, host: string, socket?: net.Socket): tls.ConnectionOptions {
  const options: tls.ConnectionOptions = { ...plan.options, host };
  const name = serverName(host);
  if (name) options.servername = name;
  if (socket) options.socket = socket;
  return options;
}

/** The certificates the peer presented, leaf first. */
function peerChain(cert: tls.PeerCertificate | tls.DetailedPeerCertificate): tls.PeerCertificate[] {
  const chain: tls.PeerCertificate[] = [];
  let current: tls.PeerCertificate | undefined = cert;
  while (current && current.fingerprint256 && !chain.some((c) => c.fingerprint256 === current!.fingerprint256)) {
    chain.push(current);
    current = (current as tls.DetailedPeerCertificate).issuerCertificate;
  }
  return chain;
}

/** The presented certificate (leaf or one of its issuers) that matches the pin, if any. */
export function pinnedCertificate(cert: tls.PeerCertificate, pin: string): tls.PeerCertificate | undefined {
  const wanted = pin.toUpperCase();
  return peerChain(cert).find((c) => c.fingerprint256.toUpperCase() === wanted);
}

function certificateExpired(cert: tls.PeerCertificate, now: Date): boolean {
  return new Date(cert.valid_to).getTime() < now.getTime();
}

function day(date: string): string {
  return new Date(date).toISOString().slice(0, 10);
}

/** OpenSSL's reason code in words, keeping the code: "it is issued for DNS:a.example, not for b.example (ERR_TLS_CERT_ALTNAME_INVALID)". */
export function explainTrustFailure(code: string, cert: tls.PeerCertificate | undefined, host: string): string {
  const names = cert?.subjectaltname || (cert?.subject?.CN ? `CN=${cert.subject.CN}` : 'no names');
  const words: Record<string, string | undefined> = {
    ERR_TLS_CERT_ALTNAME_INVALID: `it is issued for ${names}, not for ${host}`,
    CERT_HAS_EXPIRED: cert ? `it expired on ${day(cert.valid_to)}` : 'it has expired',
    CERT_NOT_YET_VALID: cert ? `it is valid only from ${day(cert.valid_from)}` : 'it is not valid yet',
    DEPTH_ZERO_SELF_SIGNED_CERT: 'it is self-signed',
    SELF_SIGNED_CERT_IN_CHAIN: 'its chain ends in a self-signed root that is not trusted',
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its issuer is not trusted (or the server does not send the intermediate certificates)',
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its issuer is not trusted (or the server does not send the intermediate certificates)',
  };
  const text = words[code];
  return text ? `${text} (${code})` : code;
}

/** The verdict on a finished handshake of one of our sockets. */
export function judgePeer(socket: tls.TLSSocket, plan: HandshakePlan, now = new Date()): { verified: boolean; reason: string | null } {
  if (plan.trust === 'insecure') return { verified: false, reason: null };
  const cert = socket.getPeerCertificate(true);
  if (!cert || !cert.fingerprint256) return { verified: false, reason: 'the server sent no certificate' };
  if (plan.trust === 'fingerprint') {
    const pinned = pinnedCertificate(cert, plan.pin!);
    if (!pinned) return { verified: false, reason: `certificate fingerprint ${cert.fingerprint256} does not match the pinned ${plan.pin}` };
    if (certificateExpired(cert, now)) return { verified: false, reason: `the pinned certificate expired on ${new Date(cert.valid_to).toISOString()}` };
    return { verified: true, reason: null };
  }
  if (!socket.authorized) return { verified: false, reason: explainTrustFailure(String(socket.authorizationError ?? 'certificate not trusted'), cert, socketHost(socket)) };
  return { verified: true, reason: null };
}

/** The name the certificate was checked against: the SNI name, else the address connected to. */
function socketHost(socket: tls.TLSSocket): string {
  const name = (socket as tls.TLSSocket & { servername?: string | false }).servername;
  return (typeof name === 'string' && name) || socket.remoteAddress || 'the server';
}

/** Throws ETLS unless the peer passed the plan's trust (insecure passes everything). */
export function verifyPeer(socket: tls.TLSSocket, plan: HandshakePlan, account: TlsAccount, now = new Date()): void {
  if (plan.trust === 'insecure') return;
  const { verified, reason } = judgePeer(socket, plan, now);
  if (verified) return;
  throw untrustedCertificate(account, `the certificate of ${account.host}:${account.port} is not trusted: ${reason}`, socket.getPeerCertificate()?.fingerprint256, reason);
}

/** ETLS for a certificate the account's trust refuses; `detail` says why, after the account name. */
export function untrustedCertificate(account: TlsAccount, detail: string, fingerprint: string | undefined, reason: string | null) {
  return protocolError({ code: 'ETLS', message: `account ${account.name}: ${detail}`, ...certificateAdvice(account, fingerprint, reason), account: account.name });
}

/** What to do about an untrusted certificate: words, and the trust settings that would fix it. */
function certificateAdvice(account: TlsAccount, fingerprint: string | undefined, reason: string | null): Advice {
  const pin = { field: 'fingerprint', value: fingerprint ?? 'SHA256' };
  if (account.tls.fingerprint) {
    return { hint: 'the server presents a different certificate than the pinned one; if it was renewed on purpose, pin the new one', fixes: [pin] };
  }
  if (reason && /ALTNAME|Hostname\/IP does not match/i.test(reason)) {
    return { hint: 'connect with a host name listed in the certificate, or pin the certificate', fixes: [{ field: 'host', value: 'NAME' }, pin] };
  }
  if (reason && /EXPIRED/i.test(reason)) return { hint: "the server's certificate has expired: renew it on the server, or pin it", fixes: [pin] };
  return { hint: 'if the server uses a private or self-signed certificate, trust its CA, or pin the certificate after checking it out of band', fixes: [{ field: 'ca', value: 'FILE' }, pin] };
}

