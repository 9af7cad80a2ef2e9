// Our own connections, step by step (resolve, TCP connect, TLS handshake), each bounded by an
// AbortSignal so the probe can time and name every step. Failures become ProtocolErrors here, worded
// by the Peer (Node's errno and OpenSSL codes through its table).
import dns from 'node:dns';
import net from 'node:net';
import tls from 'node:tls';
import type { Peer } from './peer.js';

export interface ResolvedAddress {
  address: string;
  family: number;
}

export type LookupFn = (host: string) => Promise<ResolvedAddress[]>;

function abortReason(peer: Peer, signal: AbortSignal, step: string): Error {
  const reason = signal.reason as Error | undefined;
  // AbortSignal.timeout() aborts with a DOMException named TimeoutError.
  if (!reason || reason.name === 'TimeoutError' || reason.name === 'AbortError') return peer.timedOut(step);
  return reason;
}

/** Runs `start` until it settles or the signal aborts (a timeout of `step`); `cleanup` runs on abort. */
export function bounded<T>(peer: Peer, signal: AbortSignal | undefined, step: string, start: () => Promise<T>, cleanup?: () => void): Promise<T> {
  if (!signal) return start();
  if (signal.aborted) {
    cleanup?.();
    return Promise.reject(abortReason(peer, signal, step));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      cleanup?.();
      reject(abortReason(peer, signal, step));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    start().then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

const systemLookup: LookupFn = async (host) => {
  if (net.isIP(host)) return [{ address: host, family: net.isIP(host) }];
  return dns.promises.lookup(host, { all: true, verbatim: true });
};

/** The peer's host name resolved (an IP address stands for itself). */
export async function resolveHost(peer: Peer, signal?: AbortSignal, lookup: LookupFn = systemLookup): Promise<ResolvedAddress[]> {
  const { host } = peer.account;
  const found = await bounded(peer, signal, 'DNS lookup', () => lookup(host)).catch((err: unknown) => {
    throw peer.system(err);
  });
  if (found.length === 0) throw peer.system(Object.assign(new Error(`no address for ${host}`), { code: 'ENOTFOUND' }));
  return found;
}

/** TCP connect to one address of the peer. */
export function connectTcp(peer: Peer, address: string, signal?: AbortSignal): Promise<net.Socket> {
  const socket = net.connect({ host: address, port: peer.account.port });
  return bounded(
    peer,
    signal,
    'TCP connect',
    () =>
      new Promise<net.Socket>((resolve, reject) => {
        const onError = (err: Error) => reject(peer.system(err));
        socket.once('connect', () => {
          socket.removeListener('error', onError);
          resolve(socket);
        });
        socket.once('error', onError);
      }),
    () => socket.destroy(),
  );
}

/** TCP connect to the first address that answers (a timeout ends the search). */
export async function connectFirst(peer: Peer, addresses: ResolvedAddress[], signal?: AbortSignal): Promise<net.Socket> {
  let last: unknown = peer.system(new Error('no address to connect to'));
  for (const { address } of addresses) {
    try {
      return await connectTcp(peer, address, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      last = err;
    }
  }
  throw last;
}

/**
 * TLS handshake over an open socket (implicit TLS right after connect, or after STARTTLS/STLS).
 * Resolves once the handshake is done; the caller must judge the peer before sending anything.
 */
export function handshake(peer: Peer, options: tls.ConnectionOptions & { socket: net.Socket }, signal?: AbortSignal): Promise<tls.TLSSocket> {
  let secure: tls.TLSSocket | undefined;
  return bounded(
    peer,
    signal,
    'TLS handshake',
    () =>
      new Promise<tls.TLSSocket>((resolve, reject) => {
        const onPlainClose = () => reject(peer.closed('the server closed the connection during the TLS handshake'));
        options.socket.once('close', onPlainClose);
        secure = tls.connect(options, () => {
          options.socket.removeListener('close', onPlainClose);
          secure!.removeListener('error', onError);
          resolve(secure!);
        });
        // A failed handshake may emit more than one error (alert, then reset): the first decides,
        // the rest must not become an uncaught 'error' event that kills the process.
        const onError = (err: Error) => {
          options.socket.removeListener('close', onPlainClose);
          secure!.on('error', () => undefined);
          secure!.destroy();
          reject(peer.system(err));
        };
        secure.once('error', onError);
      }),
    () => {
      secure?.destroy();
      options.socket.destroy();
    },
  );
}

export interface SocketHandlers {
  data: (chunk: Buffer) => void;
  error: (err: Error) => void;
  close: () => void;
}

/** Attaches data/error/close handlers; returns the function that detaches them again. */
export function listen(socket: net.Socket, handlers: SocketHandlers): () => void {
  socket.on('data', handlers.data);
  socket.on('error', handlers.error);
  socket.on('close', handlers.close);
  return () => {
    socket.removeListener('data', handlers.data);
    socket.removeListener('error', handlers.error);
    socket.removeListener('close', handlers.close);
  };
}
