// A small line-oriented conversation over one socket, for the exchanges we make ourselves (the
// staged probe, STARTTLS before a certificate fetch). Every read is bounded by the caller's
// AbortSignal; every line in and out goes through the tap (the redacting debug log); every failure
// is worded by the session's Peer.
import type net from 'node:net';
import type tls from 'node:tls';
import type { ProtocolTap } from '../debug-log.js';
import type { Peer } from './peer.js';
import { bounded, handshake, listen } from './socket.js';

/** Longest line we read; a longer one is not the protocol (RFC 5321 allows 512, RFC 2449 512 octets). */
const MAX_LINE = 64 * 1024;
/** Most bytes held unread: a server sending far more than was asked is cut off, memory stays bounded. */
const MAX_BUFFERED = 1024 * 1024;

export class LineSession {
  socket: net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  private closed = false;
  private unlisten: () => void = () => undefined;
  private readonly onData = (chunk: Buffer) => {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    if (this.buffer.length > MAX_BUFFERED + MAX_LINE) this.abandon(this.peer.violation(`the server sent more than ${MAX_BUFFERED} bytes that were not asked for`));
    this.wake();
  };
  private readonly onError = (err: Error) => {
    this.failure ??= this.peer.system(err);
    this.wake();
  };
  private readonly onClose = () => {
    this.closed = true;
    this.wake();
  };

  constructor(
    socket: net.Socket,
    readonly peer: Peer,
    private readonly opts: { signal?: AbortSignal; tap?: ProtocolTap } = {},
  ) {
    this.socket = socket;
    this.attach(socket);
  }

  private attach(socket: net.Socket): void {
    this.unlisten = listen(socket, { data: this.onData, error: this.onError, close: this.onClose });
  }

  private detach(): void {
    this.unlisten();
  }

  /** Fails every later read with `err`, drops what was buffered and the connection. */
  private abandon(err: Error): void {
    this.failure ??= err;
    this.buffer = Buffer.alloc(0);
    this.socket.on('error', () => undefined);
    this.socket.destroy();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /**
   * Waits until `take` finds what it needs in the buffer (it returns undefined until then), or the
   * connection fails or closes. Bounded by the session's signal.
   */
  private waitFor<T>(step: string, take: () => T | undefined): Promise<T> {
    return bounded(
      this.peer,
      this.opts.signal,
      step,
      () =>
        new Promise<T>((resolve, reject) => {
          const attempt = () => {
            let value: T | undefined;
            try {
              value = take();
            } catch (err) {
              return reject(err);
            }
            if (value !== undefined) return resolve(value);
            if (this.failure) return reject(this.failure);
            if (this.closed) return reject(this.peer.closed(`the server closed the connection (${step})`));
            this.waiter = attempt;
          };
          attempt();
        }),
      () => this.socket.destroy(),
    );
  }

  /** The next line without its line ending (UTF-8). */
  readLine(step = 'waiting for the server'): Promise<string> {
    return this.waitFor(step, () => {
      const lf = this.buffer.indexOf(0x0a);
      if (lf >= 0) {
        const line = this.buffer.subarray(0, lf).toString('utf8').replace(/\r$/, '');
        this.buffer = this.buffer.subarray(lf + 1);
        this.opts.tap?.('S', line);
        return line;
      }
      if (this.buffer.length > MAX_LINE && !this.failure) this.abandon(this.peer.violation(`server line longer than ${MAX_LINE} bytes`));
      return undefined;
    });
  }

  /** Exactly `n` raw bytes (an IMAP literal); the caller bounds `n`. */
  readBytes(n: number, step = 'waiting for the server'): Promise<Buffer> {
    return this.waitFor(step, () => {
      if (this.buffer.length < n) return undefined;
      const bytes = Buffer.from(this.buffer.subarray(0, n));
      this.buffer = this.buffer.subarray(n);
      this.opts.tap?.('S', `[literal: ${n} bytes]`);
      return bytes;
    });
  }

  /** Sends one command line; `logged` replaces it in the tap when it carries a secret. */
  send(line: string, logged?: string): void {
    this.opts.tap?.('C', logged ?? line);
    this.socket.write(`${line}\r\n`);
  }

  /** Whether the server sent more than was asked for (a STARTTLS injection attempt, or pipelining). */
  get pending(): number {
    return this.buffer.length;
  }

  /**
   * Upgrades to TLS after STARTTLS/STLS was accepted. Plaintext the server sent before the
   * handshake is discarded (RFC 3207 §6: nothing from before TLS may be trusted).
   */
  async upgrade(options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
    const plain = this.socket;
    this.detach();
    this.buffer = Buffer.alloc(0);
    const secure = await handshake(this.peer, { ...options, socket: plain }, this.opts.signal);
    this.socket = secure;
    this.attach(secure);
    return secure;
  }

  close(): void {
    this.detach();
    this.socket.on('error', () => undefined);
    this.socket.destroy();
  }
}
