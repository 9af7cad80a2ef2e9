// Fetches the certificate chain a server presents (implicit TLS, or after STARTTLS/STLS), without
// trusting it: the pinned-fingerprint path of connectionTls() needs it before a library connects.
import type tls from 'node:tls';
import { LineSession } from './line-session.js';
import { Peer } from './peer.js';
import { requestStartTls } from './replies.js';
import { connectFirst, handshake, resolveHost, type LookupFn } from './socket.js';
import { socketTlsOptions, type HandshakePlan, type TlsAccount } from './trust.js';

export async function fetchPeerCertificate(account: TlsAccount, plan: HandshakePlan, timeoutMs: number, lookup?: LookupFn): Promise<tls.DetailedPeerCertificate> {
  const signal = AbortSignal.timeout(timeoutMs);
  const peer = new Peer(account);
  peer.stage = 'resolve';
  const addresses = await resolveHost(peer, signal, lookup);
  peer.stage = 'connect';
  const plain = await connectFirst(peer, addresses, signal);
  let secure: tls.TLSSocket | undefined;
  try {
    if (account.security === 'starttls') {
      peer.stage = 'greeting';
      const session = new LineSession(plain, peer, { signal });
      await requestStartTls(session, account.type);
      peer.stage = 'tls';
      secure = await session.upgrade(socketTlsOptions(plan, account.host));
    } else {
      peer.stage = 'tls';
      secure = await handshake(peer, { ...socketTlsOptions(plan, account.host), socket: plain }, signal);
    }
    return secure.getPeerCertificate(true);
  } finally {
    secure?.destroy();
    plain.destroy();
  }
}
