// Opens a logged-in POP3 session for an account: connect, TLS (implicit or STLS, never falling back
// to plaintext when STARTTLS was configured), greeting, CAPA, login with the mechanism the probe uses.
import type net from 'node:net';
import type { Account } from '../../core/account.js';
import type { ProtocolTap } from '../debug-log.js';
import { Peer } from '../net/peer.js';
import { connectFirst, handshake, resolveHost, type LookupFn } from '../net/socket.js';
import { handshakePlan, socketTlsOptions, verifyPeer, type TlsDeps } from '../net/trust.js';
import { DEFAULT_POP3_TIMEOUT_MS, Pop3Client } from './client.js';
import { choosePop3Mechanism, pop3Login } from './login.js';

export interface Pop3ConnectOptions {
  /** The account's password or OAuth token, resolved by the caller. */
  secret: string;
  /** Limit for connecting (whole setup) and for each later command's silence (default 60 s). */
  timeoutMs?: number;
  tap?: ProtocolTap;
  tls?: TlsDeps;
  lookup?: LookupFn;
}

export type Pop3Account = Pick<Account, 'name' | 'type' | 'host' | 'port' | 'security' | 'tls' | 'user' | 'auth' | 'authMechanism'>;

/** A logged-in client; call quit() to commit deletions and close. */
export async function connectPop3(account: Pop3Account, options: Pop3ConnectOptions): Promise<Pop3Client> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_POP3_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  const peer = new Peer(account);
  const plan = await handshakePlan(account, options.tls);
  let client: Pop3Client | undefined;
  let socket: net.Socket | undefined;
  try {
    peer.stage = 'resolve';
    const addresses = await resolveHost(peer, signal, options.lookup);
    peer.stage = 'connect';
    socket = await connectFirst(peer, addresses, signal);
    if (account.security === 'tls') {
      peer.stage = 'tls';
      const secure = await handshake(peer, { ...socketTlsOptions(plan, account.host), socket }, signal);
      socket = secure;
      verifyPeer(secure, plan, account);
    }
    peer.stage = 'greeting';
    client = new Pop3Client(socket, peer, { timeoutMs, tap: options.tap });
    await client.readGreeting();
    peer.stage = 'capabilities';
    await client.capa();
    if (account.security === 'starttls') {
      peer.stage = 'tls';
      if (!client.capabilities!.has('STLS')) throw peer.startTlsNotOffered('STLS');
      await client.stls(socketTlsOptions(plan, account.host), (secure) => verifyPeer(secure, plan, account));
      await client.capa();
    }
    peer.stage = 'login';
    if (account.auth !== 'none') await pop3Login(client, choosePop3Mechanism(account, client.capabilities), account.user ?? '', options.secret, { insisted: account.authMechanism !== undefined });
    peer.stage = 'session';
    return client;
  } catch (err) {
    client?.close();
    // An untrusted certificate fails after the handshake: the socket is open and must not leak.
    socket?.destroy();
    throw err;
  }
}
