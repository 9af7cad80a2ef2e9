// Opens a logged-in POP3 session for an account: connect, TLS (implicit or STLS, never falling back
// to plaintext when STARTTLS was configured), greeting, CAPA, login.
import type net from 'node:net';
import type { Account } from '../../core/account.js';
import { MailboxError } from '../../core/errors.js';
import type { ProtocolTap } from '../debug-log.js';
import { networkFailure } from '../errors.js';
import { connectFirst, handshake, resolveHost, type LookupFn } from '../net/socket.js';
import { handshakePlan, socketTlsOptions, verifyPeer, type TlsDeps } from '../net/trust.js';
import { Pop3Client, DEFAULT_POP3_TIMEOUT_MS, type Pop3Mechanism } from './client.js';

export interface Pop3ConnectOptions {
  /** The account's password or OAuth token, resolved by the caller. */
  secret: string;
  /** Limit for connecting (whole setup) and for each later command's silence (default 60 s). */
  timeoutMs?: number;
  tap?: ProtocolTap;
  tls?: TlsDeps;
  lookup?: LookupFn;
  mechanism?: Pop3Mechanism;
}

export type Pop3Account = Pick<Account, 'name' | 'type' | 'host' | 'port' | 'security' | 'tls' | 'user' | 'auth'>;

/** A logged-in client; call quit() to commit deletions and close. */
export async function connectPop3(account: Pop3Account, options: Pop3ConnectOptions): Promise<Pop3Client> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_POP3_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  const plan = await handshakePlan(account, options.tls);
  let step = 'resolve';
  let client: Pop3Client | undefined;
  let socket: net.Socket | undefined;
  try {
    const addresses = await resolveHost(account.host, signal, options.lookup);
    step = 'connect';
    socket = await connectFirst(addresses, account.port, signal);
    if (account.security === 'tls') {
      step = 'tls';
      const secure = await handshake({ ...socketTlsOptions(plan, account.host), socket }, signal);
      socket = secure;
      verifyPeer(secure, plan, account);
    }
    step = 'greeting';
    client = new Pop3Client(socket, { timeoutMs, tap: options.tap, account });
    await client.readGreeting();
    await client.capa();
    if (account.security === 'starttls') {
      step = 'tls';
      if (!client.capabilities!.has('STLS')) throw stlsNotOffered(account);
      await client.stls(socketTlsOptions(plan, account.host), (secure) => verifyPeer(secure, plan, account));
      await client.capa();
    }
    step = 'login';
    if (account.auth !== 'none') {
      await client.login(account.user ?? '', options.secret, { mechanism: options.mechanism ?? (account.auth === 'oauth2' ? 'xoauth2' : 'auto') });
    }
    return client;
  } catch (err) {
    client?.close();
    // An untrusted certificate fails after the handshake: the socket is open and must not leak.
    socket?.destroy();
    throw networkFailure(err, account, step);
  }
}

export function stlsNotOffered(account: Pick<Account, 'name' | 'host' | 'port'>): MailboxError {
  return new MailboxError('ETLS', `account ${account.name}: ${account.host}:${account.port} does not offer STLS (STARTTLS), so the connection would stay unencrypted`, {
    hint: `use --security tls on the server's implicit-TLS port (usually 995); choose --security none only if you accept plaintext`,
  });
}
