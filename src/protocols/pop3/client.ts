// The project's POP3 client (RFC 1939, CAPA RFC 2449, STLS RFC 2595, response codes RFC 3206; the
// login is in login.ts). Written here rather than on node-pop3 0.11, which has no STLS or CAPA,
// decodes RETR as UTF-8 text (corrupting 8-bit bytes), keeps stuffed dots, and can hang when a
// timeout fires mid-command; none of its command layer would survive, so it is not used at all.
//
// One socket, commands answered in order. Bodies are streamed byte-exact with back-pressure (a slow
// consumer pauses the socket); with PIPELINING the reader keeps many RETR on the wire at once.
import type net from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import type tls from 'node:tls';
import { MailboxError } from '../../core/errors.js';
import type { ProtocolTap } from '../debug-log.js';
import type { Peer } from '../net/peer.js';
import { handshake, listen } from '../net/socket.js';
import { pop3Refused, pop3Temporary } from './failures.js';
import { CollectSink, Pop3ResponseReader, type BodySink, type StatusLine } from './parser.js';

export type Pop3Capabilities = Map<string, string[]>;

export interface Pop3ClientOptions {
  /** Inactivity limit while a command waits for the server (default 60 s): on expiry the socket is destroyed. */
  timeoutMs?: number;
  /** Aborts everything (the probe's per-account deadline). */
  signal?: AbortSignal;
  /** Sees every command and status line (bodies as a byte count); feed it a redacting debug log. */
  tap?: ProtocolTap;
}

export const DEFAULT_POP3_TIMEOUT_MS = 60_000;
const BODY_HIGH_WATER = 256 * 1024;
/** A CAPA listing is a few hundred bytes; more is a server gone wrong. */
const MAX_CAPA_BYTES = 64 * 1024;
/** A header block asked for with TOP: far above a real one. */
const MAX_HEADER_BYTES = 1024 * 1024;

interface PendingCommand {
  onStatus(status: StatusLine): BodySink | undefined;
  onDone(): void;
  reject(err: Error): void;
}

export class Pop3Client {
  socket: net.Socket;
  greeting: string | undefined;
  /** From the last CAPA; null before CAPA (capabilities are forgotten after STLS). */
  capabilities: Pop3Capabilities | null = null;
  private readonly reader = new Pop3ResponseReader();
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private pausedFor = 0;
  private unlisten: () => void = () => undefined;
  private failure: Error | undefined;
  private readonly greetingPromise: Promise<string>;
  private readonly onData = (chunk: Buffer) => {
    this.armTimer();
    try {
      this.reader.feed(chunk);
    } catch (err) {
      this.fail(this.peer.violation((err as Error).message));
    }
    if (this.reader.waiting === 0) this.clearTimer();
  };
  private readonly onError = (err: Error) => this.fail(this.peer.system(err));
  private readonly onClose = () => this.fail(this.peer.closed('the server closed the connection'));
  private readonly onAbort = () => this.fail(this.peer.timedOut('POP3 session'));

  /** Wraps an open socket (plain, or TLS already verified); the greeting is read from it. */
  constructor(
    socket: net.Socket,
    readonly peer: Peer,
    private readonly options: Pop3ClientOptions = {},
  ) {
    this.socket = socket;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_POP3_TIMEOUT_MS;
    this.attach(socket);
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.greetingPromise = this.exchange(undefined).then((status) => {
      if (!status.ok) throw pop3Refused(this.peer, status.line, 'greeting');
      this.greeting = status.line;
      return status.line;
    });
    this.greetingPromise.catch(() => undefined);
    this.armTimer();
  }

  private attach(socket: net.Socket): void {
    this.unlisten = listen(socket, { data: this.onData, error: this.onError, close: this.onClose });
  }

  private armTimer(): void {
    this.clearTimer();
    if (this.pausedFor > 0 || this.failure) return;
    this.timer = setTimeout(() => this.fail(this.peer.timedOut('waiting for the POP3 server')), this.timeoutMs);
    this.timer.unref?.();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Fails every pending command and body, and destroys the socket. */
  private fail(err: Error): void {
    if (this.failure) return;
    this.shutDown(err, () => this.socket.destroy());
  }

  /** Ends the session once: pending commands and bodies get `failure`, the socket is let go. */
  private shutDown(failure: Error, release: () => void): void {
    this.failure = failure;
    this.clearTimer();
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.unlisten();
    this.socket.on('error', () => undefined);
    release();
    for (const pending of this.reader.drain()) (pending as PendingCommand).reject(failure);
  }

  /** Writes a command; after a failure it is a no-op (the command's promise is already rejected). */
  private send(line: string): void {
    if (this.failure) return;
    this.options.tap?.('C', line);
    this.socket.write(`${line}\r\n`);
    this.armTimer();
  }

  /** Queues a response. `body` decides, from the status line, where a multi-line body goes. */
  private expect(body: ((status: StatusLine) => BodySink | undefined) | undefined): Promise<StatusLine> {
    return new Promise<StatusLine>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      let status: StatusLine | undefined;
      const pending: PendingCommand = {
        reject,
        onStatus: (s) => {
          status = s;
          this.options.tap?.('S', s.line);
          return s.ok && !s.continuation ? body?.(s) : undefined;
        },
        onDone: () => resolve(status!),
      };
      this.reader.expect(pending);
    });
  }

  private expectAndSend(line: string, body: (status: StatusLine) => BodySink | undefined): Promise<StatusLine> {
    const result = this.expect(body);
    this.send(line);
    return result;
  }

  /** Sends `line` (nothing for the greeting) and resolves with the single-line reply, whatever it says. */
  exchange(line: string | undefined): Promise<StatusLine> {
    const result = this.expect(undefined);
    if (line !== undefined) this.send(line);
    return result;
  }

  private async collect(line: string, limit?: number): Promise<{ status: StatusLine; body: CollectSink }> {
    const body = new CollectSink(limit);
    const status = await this.expectAndSend(line, () => body);
    if (status.ok) for (const l of body.lines) this.options.tap?.('S', l);
    return { status, body };
  }

  private async ok(line: string): Promise<StatusLine> {
    const status = await this.exchange(line);
    if (!status.ok || status.continuation) throw pop3Refused(this.peer, status.line, line);
    return status;
  }

  readGreeting(): Promise<string> {
    return this.greetingPromise;
  }

  /** CAPA; an empty map when the server does not know CAPA (RFC 1939-only servers). */
  async capa(): Promise<Pop3Capabilities> {
    const { status, body } = await this.collect('CAPA', MAX_CAPA_BYTES);
    const caps: Pop3Capabilities = new Map();
    if (status.ok) {
      for (const line of body.lines) {
        const [name, ...args] = line.trim().split(/\s+/);
        if (name) caps.set(name.toUpperCase(), args);
      }
    }
    this.capabilities = caps;
    return caps;
  }

  /**
   * STLS, then the TLS handshake on the same socket; `verify` judges the peer before anything else
   * is sent. Plaintext received before the handshake is discarded; capabilities must be read again.
   */
  async stls(options: tls.ConnectionOptions, verify?: (socket: tls.TLSSocket) => void): Promise<tls.TLSSocket> {
    if (this.reader.waiting > 0) throw new MailboxError('EINTERNAL', 'STLS while commands are pending');
    const status = await this.exchange('STLS');
    if (!status.ok) {
      const temporary = pop3Temporary(status.line);
      throw this.peer.fail({
        code: temporary ? 'ETEMPFAIL' : 'ETLS',
        message: `account ${this.peer.account.name}: the POP3 server refused STLS: ${status.text}`,
        ...(temporary ? { hint: 'a temporary refusal ([SYS/TEMP]): try again later' } : { hint: 'the server does not allow STARTTLS now; use tls on its implicit-TLS port (usually 995)', fixes: [{ field: 'security', value: 'tls' }] }),
        response: status.line,
        command: 'STLS',
      });
    }
    const plain = this.socket;
    this.unlisten();
    this.clearTimer();
    this.reader.discardBuffered();
    let secure: tls.TLSSocket;
    try {
      secure = await handshake(this.peer, { ...options, socket: plain }, this.options.signal ?? AbortSignal.timeout(this.timeoutMs));
      verify?.(secure);
    } catch (err) {
      this.attach(plain);
      this.fail(err as Error);
      throw this.failure;
    }
    this.socket = secure;
    this.capabilities = null;
    this.attach(secure);
    return secure;
  }

  async stat(): Promise<{ count: number; size: number }> {
    const status = await this.ok('STAT');
    const [count, size] = status.text.split(/\s+/).map(Number);
    if (!Number.isInteger(count) || !Number.isInteger(size)) throw this.peer.violation(`unexpected STAT reply: ${status.line}`, status.line);
    return { count: count!, size: size! };
  }

  private async listing(command: 'UIDL' | 'LIST'): Promise<{ id: number; value: string }[]> {
    const { status, body } = await this.collect(command);
    if (!status.ok) throw pop3Refused(this.peer, status.line, command);
    return body.lines.map((line) => {
      const match = /^(\d+)\s+(\S+)/.exec(line);
      if (!match) throw this.peer.violation(`unexpected ${command} line: ${line.slice(0, 200)}`);
      return { id: Number(match[1]), value: match[2]! };
    });
  }

  /** Unique ids of every message (RFC 1939 UIDL). */
  async uidl(): Promise<{ id: number; uid: string }[]> {
    return (await this.listing('UIDL')).map(({ id, value }) => ({ id, uid: value }));
  }

  /** The unique id of one message (single-line UIDL n). */
  async uidlOne(id: number): Promise<string> {
    const status = await this.ok(`UIDL ${id}`);
    const uid = status.text.split(/\s+/)[1];
    if (!uid) throw this.peer.violation(`unexpected UIDL reply: ${status.line}`, status.line);
    return uid;
  }

  /** Sizes of every message in octets. */
  async list(): Promise<{ id: number; size: number }[]> {
    return (await this.listing('LIST')).map(({ id, value }) => ({ id, size: Number(value) }));
  }

  /** Feeds a body stream; when it is full, the socket pauses until it drains. */
  private bodySink(stream: PassThrough, id: number): BodySink {
    let bytes = 0;
    return {
      write: (chunk) => {
        bytes += chunk.length;
        if (!stream.write(chunk)) this.pauseUntilDrain(stream);
      },
      end: () => {
        this.options.tap?.('S', `[message ${id}: ${bytes} bytes]`);
        stream.end();
      },
    };
  }

  private pauseUntilDrain(stream: PassThrough): void {
    this.pausedFor++;
    this.clearTimer();
    this.socket.pause();
    const resume = () => {
      stream.removeListener('drain', resume);
      stream.removeListener('close', resume);
      this.pausedFor--;
      if (this.pausedFor === 0 && !this.failure) {
        this.socket.resume();
        if (this.reader.waiting > 0) this.armTimer();
      }
    };
    stream.on('drain', resume);
    stream.on('close', resume);
  }

  /**
   * RETR: resolves at +OK with the message's bytes as a stream, which ends after the last byte
   * (dot-unstuffed, CRLF and 8-bit kept) or fails with the connection. Many may be in flight.
   */
  retrStream(id: number): Promise<Readable> {
    const stream = new PassThrough({ highWaterMark: BODY_HIGH_WATER });
    let opened = false;
    return new Promise<Readable>((resolve, reject) => {
      this.expectAndSend(`RETR ${id}`, () => {
        opened = true;
        resolve(stream);
        return this.bodySink(stream, id);
      }).then(
        (status) => {
          if (!status.ok) reject(pop3Refused(this.peer, status.line, `RETR ${id}`));
        },
        (err: Error) => {
          // A body nobody was given has no 'error' listener: failing it would be an uncaught error.
          if (opened) stream.destroy(err);
          else stream.destroy();
          reject(err);
        },
      );
    });
  }

  /** TOP n 0: the header block of a message (RFC 1939 optional); undefined when the server refuses it. */
  async top(id: number): Promise<Buffer | undefined> {
    const { status, body } = await this.collect(`TOP ${id} 0`, MAX_HEADER_BYTES);
    return status.ok ? body.bytes : undefined;
  }

  async dele(id: number): Promise<void> {
    await this.ok(`DELE ${id}`);
  }

  /** QUIT: the server commits deletions only now. Then the socket is closed. */
  async quit(): Promise<void> {
    try {
      await this.ok('QUIT');
    } finally {
      this.close();
    }
  }

  /** Closes without QUIT (deletions are not committed). */
  close(): void {
    if (this.failure) return;
    this.shutDown(this.peer.fail({ code: 'EPROTOCOL', message: 'the POP3 connection was closed' }), () => this.socket.destroySoon());
  }
}
