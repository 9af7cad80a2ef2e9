// Our own connections, step by step (resolve, TCP connect, TLS handshake), each bounded by an
// AbortSignal so the probe can time and name every step. Errors are Node's own (err.code kept);
// errors.ts turns them into MailboxErrors with hints.
import dns from 'node:dns';
import net from 'node:net';
import tls from 'node:tls';

export interface ResolvedAddress {
  address: string;
  family: number;
}

export type LookupFn = (host: string) => Promise<ResolvedAddress[]>;

/** An error that says which step ran out of time. */
export class StepTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(readonly step: string) {
    super(`timed out during ${step}`);
    this.name = 'StepTimeoutError';
  }
}

function abortReason(signal: AbortSignal, step: string): Error {
  const reason = signal.reason as Error | undefined;
  // AbortSignal.timeout() aborts with a DOMException named TimeoutError.
  if (!reason || reason.name === 'TimeoutError' || reason.name === 'AbortError') return new StepTimeoutError(step);
  return reason;
}

/** Runs `start` until it settles or the signal aborts; `cleanup` runs on abort. */
export function bounded<T>(signal: AbortSignal | undefined, step: string, start: () => Promise<T>, cleanup?: () => void): Promise<T> {
  if (!signal) return start();
  if (signal.aborted) {
    cleanup?.();
    return Promise.reject(abortReason(signal, step));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      cleanup?.();
      reject(abortReason(signal, step));
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

export const systemLookup: LookupFn = async (host) => {
  if (net.isIP(host)) return [{ address: host, family: net.isIP(host) }];
  return dns.promises.lookup(host, { all: true, verbatim: true });
};

export function resolveHost(host: string, signal?: AbortSignal, lookup: LookupFn = systemLookup): Promise<ResolvedAddress[]> {
  return bounded(signal, 'DNS lookup', () => lookup(host));
}

/** TCP connect to one address. */
export function connectTcp(address: string, port: number, signal?: AbortSignal): Promise<net.Socket> {
  const socket = net.connect({ host: address, port });
  return bounded(
    signal,
    'TCP connect',
    () =>
      new Promise<net.Socket>((resolve, reject) => {
        socket.once('connect', () => {
          socket.removeListener('error', reject);
          resolve(socket);
        });
        socket.once('error', reject);
      }),
    () => socket.destroy(),
  );
}

/** TCP connect to the first address that answers. */
export async function connectFirst(addresses: ResolvedAddress[], port: number, signal?: AbortSignal): Promise<net.Socket> {
  let last: unknown = new Error('no address to connect to');
  for (const { address } of addresses) {
    try {
      return await connectTcp(address, port, signal);
    } catch (err) {
      if (err instanceof StepTimeoutError) throw err;
      last = err;
    }
  }
  throw last;
}

/**
 * TLS handshake over an open socket (implicit TLS right after connect, or after STARTTLS/STLS).
 * Resolves once the handshake is done; the caller must judge the peer before sending anything.
 */
export function handshake(options: tls.ConnectionOptions & { socket: net.Socket }, signal?: AbortSignal): Promise<tls.TLSSocket> {
  let secure: tls.TLSSocket | undefined;
  return bounded(
    signal,
    'TLS handshake',
    () =>
      new Promise<tls.TLSSocket>((resolve, reject) => {
        const onPlainClose = () => reject(Object.assign(new Error('the server closed the connection during the TLS handshake'), { code: 'ECONNRESET' }));
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
          reject(err);
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
