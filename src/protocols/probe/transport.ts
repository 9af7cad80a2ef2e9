// The stages every protocol shares: resolve, connect, and the TLS handshake with its report.
import type net from 'node:net';
import type tls from 'node:tls';
import { DEFAULT_PORTS, type Account } from '../../core/account.js';
import type { ProtocolTap } from '../debug-log.js';
import { describeTlsSession, type TlsSessionInfo } from '../net/certificate.js';
import type { Peer } from '../net/peer.js';
import { connectFirst, connectTcp, handshake, resolveHost, type LookupFn } from '../net/socket.js';
import { explainTrustFailure, socketTlsOptions, untrustedCertificate, type HandshakePlan } from '../net/trust.js';
import type { StageRecorder } from './stages.js';

const EXPIRY_WARNING_DAYS = 14;

export interface ProbeContext {
  account: Account;
  /** Words every failure for this account and knows the stage (the recorder moves it on). */
  peer: Peer;
  recorder: StageRecorder;
  /** The per-account deadline. */
  signal: AbortSignal;
  plan: HandshakePlan;
  /** Every protocol line (to the redacting debug log). */
  tap?: ProtocolTap;
  /** A note in the debug log (connect, TLS). */
  note: (text: string) => void;
  now: () => Date;
  lookup?: LookupFn;
  /** Resolves the account's secret at the login stage. */
  secret: () => Promise<string>;
  /** --send-to: one real test message through an SMTP account. */
  sendTo?: string;
  timeoutMs: number;
  /** The address the connect stage reached. */
  address?: string;
}

async function resolveAndConnect(ctx: ProbeContext): Promise<net.Socket> {
  const { peer, recorder, signal } = ctx;
  const addresses = await recorder.run('resolve', async () => {
    const found = await resolveHost(peer, signal, ctx.lookup);
    return { value: found, detail: found.map((a) => a.address).join(', '), data: { addresses: found.map((a) => a.address) } };
  });
  return recorder.run('connect', async () => {
    const socket = await connectFirst(peer, addresses, signal);
    const where = `${socket.remoteAddress}:${socket.remotePort}`;
    ctx.address = socket.remoteAddress;
    ctx.note(`connected to ${where}`);
    return { value: socket, detail: `connected to ${where}`, data: { address: socket.remoteAddress, port: socket.remotePort } };
  });
}

const TRUST_WORDS: Record<HandshakePlan['trust'], string> = {
  system: 'the system trust store',
  ca: "the account's CA file",
  fingerprint: 'the pinned fingerprint',
  insecure: 'nothing (insecure: not verified)',
};

function describeTls(info: TlsSessionInfo, plan: HandshakePlan): string {
  const parts = [`${info.protocol ?? 'TLS'} ${info.cipher ?? ''}`.trim()];
  const cert = info.certificate;
  if (cert) {
    parts.push(`certificate ${cert.subject}${cert.selfSigned ? ' (self-signed)' : `, issued by ${cert.issuer}`}`);
    parts.push(`expires ${cert.validTo.slice(0, 10)}`);
    parts.push(`SHA-256 ${cert.fingerprint256}`);
  }
  if (plan.trust === 'insecure') parts.push('NOT verified (insecure)');
  else parts.push(info.verified ? `verified against ${TRUST_WORDS[plan.trust]}${plan.caFile ? ` ${plan.caFile}` : ''}` : `NOT trusted: ${info.authorizationError ?? 'unknown reason'}`);
  return parts.join('; ');
}

/**
 * The 'tls' stage: `start` performs the handshake (at connect, or after STARTTLS/STLS); the peer is
 * judged here, before anything else is sent, and described in full even when it is not trusted.
 */
export async function tlsStage(ctx: ProbeContext, start: () => Promise<tls.TLSSocket>): Promise<tls.TLSSocket> {
  const { account, plan, recorder } = ctx;
  return recorder.run('tls', async () => {
    const secure = await start();
    const info = describeTlsSession(secure, plan, ctx.now());
    const detail = describeTls(info, plan);
    ctx.note(`TLS: ${detail}`);
    if (!info.verified && plan.trust !== 'insecure') {
      const presented = secure.getPeerCertificate();
      secure.destroy();
      const reason =
        plan.trust === 'fingerprint'
          ? `fingerprint ${info.certificate?.fingerprint256} is not the pinned ${plan.pin}`
          : explainTrustFailure(info.authorizationError ?? 'not trusted', presented, account.host);
      throw untrustedCertificate(account, `the certificate of ${account.host}:${account.port} is not trusted: ${reason}; ${detail}`, info.certificate?.fingerprint256, info.authorizationError ?? reason);
    }
    const days = info.certificate?.expiresInDays;
    if (days !== undefined && days < EXPIRY_WARNING_DAYS) {
      ctx.recorder.warn(`the certificate of ${account.host}:${account.port} expires on ${info.certificate!.validTo.slice(0, 10)} (in ${Math.max(days, 0)} days)`);
    }
    if (plan.trust === 'insecure') ctx.recorder.warn('certificate verification is off (insecure): anyone on the path can read and change this connection');
    return { value: secure, detail, data: { ...info } };
  });
}

/** Implicit TLS right after connect. */
export function implicitTls(ctx: ProbeContext, socket: net.Socket): Promise<tls.TLSSocket> {
  return tlsStage(ctx, () => handshake(ctx.peer, { ...socketTlsOptions(ctx.plan, ctx.account.host), socket }, ctx.signal));
}

/**
 * resolve, connect, and for security tls the handshake: the socket the protocol talks on, and
 * `release` that closes whatever was opened.
 */
export async function openProbeSocket(ctx: ProbeContext): Promise<{ socket: net.Socket; release: () => void }> {
  const plain = await resolveAndConnect(ctx);
  const release = () => {
    plain.on('error', () => undefined);
    plain.destroy();
  };
  try {
    return { socket: ctx.account.security === 'tls' ? await implicitTls(ctx, plain) : plain, release };
  } catch (err) {
    release();
    throw err;
  }
}

/** Whether `address:port` completes a TLS handshake (certificate not judged); false on any failure. */
async function speaksTls(ctx: ProbeContext, address: string, signal: AbortSignal): Promise<boolean> {
  let socket: net.Socket | undefined;
  try {
    socket = await connectTcp(ctx.peer, address, signal);
    const secure = await handshake(ctx.peer, { ...socketTlsOptions({ ...ctx.plan, options: { rejectUnauthorized: false } }, ctx.account.host), socket }, signal);
    secure.destroy();
    return true;
  } catch {
    return false;
  } finally {
    socket?.destroy();
  }
}

/** A healthy server greets well within this; only a slower one gets the second, TLS connection. */
const GREETING_GRACE_MS = 250;

/**
 * How long the greeting may take before a second connection checks whether the port speaks TLS:
 * at once on the protocol's usual implicit-TLS port, after a short grace elsewhere, never on SMTP
 * port 25 (never implicit TLS, and a ClientHello sent before the greeting trips the pregreet test
 * of MX servers such as Postfix's postscreen, which then turns this address away for a day).
 */
function sniffDelay(account: Pick<Account, 'type' | 'port'>): number | undefined {
  if (account.port === DEFAULT_PORTS[account.type].tls) return 0;
  if (account.type === 'smtp' && account.port === 25) return undefined;
  return GREETING_GRACE_MS;
}

/**
 * The greeting of a plain connection, raced with a check whether the port speaks TLS (a second
 * connection, after sniffDelay): an implicit-TLS port configured as starttls or none fails at once
 * with a hint that names the fix, instead of at the deadline. The greeting, when it comes, wins.
 */
export async function plainGreeting<T>(ctx: ProbeContext, read: Promise<T>): Promise<T> {
  const delay = sniffDelay(ctx.account);
  if (ctx.account.security === 'tls' || !ctx.address || delay === undefined) return read;
  const address = ctx.address;
  const sniff = new AbortController();
  const signal = AbortSignal.any([sniff.signal, ctx.signal]);
  let timer: NodeJS.Timeout | undefined;
  const tlsPort = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void speaksTls(ctx, address, signal).then((tls) => tls && !sniff.signal.aborted && reject(ctx.peer.implicitTlsPort()));
    }, delay);
  });
  try {
    return await Promise.race([read, tlsPort]);
  } finally {
    clearTimeout(timer);
    sniff.abort();
  }
}

/** Warning for a server that accepts a password over an unencrypted connection. */
export function plaintextLoginWarning(account: Pick<Account, 'security' | 'host' | 'port'>, offered: string): string | undefined {
  if (account.security !== 'none') return undefined;
  return `${account.host}:${account.port} offers ${offered} on an unencrypted connection: the password would cross the network in clear text; choose security tls or starttls`;
}
