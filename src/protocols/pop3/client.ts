// The project's POP3 client (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH RFC 5034, response
// codes RFC 3206). Written here rather than on node-pop3 0.11, which has no STLS or CAPA, decodes
// RETR as UTF-8 text (corrupting 8-bit bytes), keeps stuffed dots, and can hang when a timeout
// fires mid-command; none of its command layer would survive, so it is not used at all.
//
// One socket, commands answered in order. Bodies are streamed byte-exact with back-pressure
// (a slow consumer pauses the socket); PIPELINING sends many RETR at once within a window.
import type net from 'node:net';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type tls from 'node:tls';
import { MailboxError } from '../../core/errors.js';
import type { ProtocolTap } from '../debug-log.js';
import { networkFailure, pop3Failure, ProtocolError, redactSecret, type FailureAccount } from '../errors.js';
import { plainPayload, xoauth2Payload } from '../sasl.js';
import { handshake, listen, StepTimeoutError } from '../net/socket.js';
import { CollectSink, Pop3ParseError, Pop3ResponseReader, type BodySink, type StatusLine } from './parser.js';

export type Pop3Capabilities = Map<string, string[]>;
export type Pop3Mechanism = 'auto' | 'user' | 'plain' | 'xoauth2';

export interface Pop3ClientOptions {
  /** Inactivity limit while a command waits for the server (default 60 s): on expiry the socket is destroyed. */
  timeoutMs?: number;
  /** Aborts everything (the probe's per-account deadline). */
  signal?: AbortSignal;
  /** Sees every command and status line (bodies as a byte count); feed it a redacting debug log. */
  tap?: ProtocolTap;
  /** Names the account and server in errors. */
  account?: FailureAccount;
}

export interface Pop3LoginOptions {
  mechanism?: Pop3Mechanism;
  /** Send the SASL initial response with AUTH (RFC 5034; default true when it fits in 255 octets). */
  initialResponse?: boolean;
}

export interface RetrManyOptions {
  /** Most RETR commands in flight at once when the server lists PIPELINING (default 16). */
  window?: number;
}

export const DEFAULT_POP3_TIMEOUT_MS = 60_000;
const BODY_HIGH_WATER = 256 * 1024;
const MAX_AUTH_LINE = 255;
/** A CAPA listing is a few hundred bytes; more is a server gone wrong. */
const MAX_CAPA_BYTES = 64 * 1024;

interface Response {
  status: StatusLine;
  body?: CollectSink;
}

export class Pop3Client {
  socket: net.Socket;
  /** Whether the connection is encrypted (implicit TLS or after STLS). */
  secure: boolean;
  greeting: string | undefined;
  /** From the last CAPA; null before CAPA (capabilities are forgotten after STLS). */
  capabilities: Pop3Capabilities | null = null;
  private readonly reader = new Pop3ResponseReader();
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private pausedFor = 0;
  private unlisten: () => void = () => undefined;
  private failure: Error | undefined;
  private greetingPromise: Promise<string>;
  private readonly onData = (chunk: Buffer) => {
    this.armTimer();
    try {
      this.reader.feed(chunk);
    } catch (err) {
      this.fail(err as Error, 'reading the server reply');
    }
    if (this.reader.waiting === 0) this.clearTimer();
  };
  private readonly onError = (err: Error) => this.fail(err, 'connection');
  private readonly onClose = () => this.fail(Object.assign(new Error('the server closed the connection'), { code: 'ECONNCLOSED' }), 'connection');
  private readonly onAbort = () => this.fail(new StepTimeoutError('POP3 session'), 'session');

  /** Wraps an open socket (plain, or TLS already verified); the greeting is read from it. */
  constructor(
    socket: net.Socket,
    private readonly options: Pop3ClientOptions = {},
  ) {
    this.socket = socket;
    this.secure = 'encrypted' in socket && Boolean((socket as tls.TLSSocket).encrypted);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_POP3_TIMEOUT_MS;
    this.attach(socket);
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.greetingPromise = this.single(undefined).then((status) => {
      if (!status.ok) throw pop3Failure(status.line, 'greeting', { account: this.options.account });
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
    this.timer = setTimeout(() => this.fail(new StepTimeoutError('waiting for the POP3 server'), 'timeout'), this.timeoutMs);
    this.timer.unref?.();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private mapError(err: Error, step: string): Error {
    if (err instanceof MailboxError) return err;
    if (err instanceof Pop3ParseError) return new ProtocolError('EPROTOCOL', `POP3 protocol error: ${err.message}`, { cause: err });
    if (this.options.account) return networkFailure(err, this.options.account, step);
    if (err instanceof StepTimeoutError) return new MailboxError('ETIMEDOUT', `the POP3 server did not answer in time (${err.step})`, { cause: err });
    return new MailboxError('EPROTOCOL', `POP3 connection failed: ${err.message}`, { cause: err });
  }

  /** Fails every pending command and body, and destroys the socket. */
  private fail(err: Error, step: string): void {
    if (this.failure) return;
    this.shutDown(this.mapError(err, this.greeting === undefined ? 'greeting' : step), () => this.socket.destroy());
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

  get closed(): boolean {
    return Boolean(this.failure);
  }

  /** Writes a command; after a failure it is a no-op (the command's promise is already rejected). */
  private send(line: string): void {
    if (this.failure) return;
    this.options.tap?.('C', line);
    this.socket.write(`${line}\r\n`);
    this.armTimer();
  }

  /**
   * Queues a response. `body` decides, from the status line, where a multi-line body goes.
   */
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

  private single(line: string | undefined): Promise<StatusLine> {
    const result = this.expect(undefined);
    if (line !== undefined) this.send(line);
    return result;
  }

  private async collect(line: string, limit?: number): Promise<Response> {
    const body = new CollectSink(limit);
    const status = await this.expectAndSend(line, () => body);
    if (status.ok) for (const l of body.lines) this.options.tap?.('S', l);
    return { status, body };
  }

  private expectAndSend(line: string, body: (status: StatusLine) => BodySink | undefined): Promise<StatusLine> {
    const result = this.expect(body);
    this.send(line);
    return result;
  }

  private async ok(line: string): Promise<StatusLine> {
    const status = await this.single(line);
    if (!status.ok || status.continuation) throw pop3Failure(status.line, line);
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
      for (const line of body!.lines) {
        const [name, ...args] = line.trim().split(/\s+/);
        if (name) caps.set(name.toUpperCase(), args);
      }
    }
    this.capabilities = caps;
    return caps;
  }

  /** SASL mechanisms from CAPA (upper case). */
  get mechanisms(): string[] {
    return (this.capabilities?.get('SASL') ?? []).map((m) => m.toUpperCase());
  }

  /**
   * STLS, then the TLS handshake on the same socket; `verify` judges the peer before anything else
   * is sent. Plaintext received before the handshake is discarded; capabilities must be read again.
   */
  async stls(options: tls.ConnectionOptions, verify?: (socket: tls.TLSSocket) => void): Promise<tls.TLSSocket> {
    if (this.reader.waiting > 0) throw new MailboxError('EINTERNAL', 'STLS while commands are pending');
    const status = await this.single('STLS');
    if (!status.ok) {
      const temporary = pop3Failure(status.line, 'STLS').code === 'ETEMPFAIL';
      throw new ProtocolError(temporary ? 'ETEMPFAIL' : 'ETLS', `the POP3 server refused STLS: ${status.text}`, {
        hint: temporary ? 'a temporary refusal ([SYS/TEMP]): try again later' : 'the server does not allow STARTTLS now; use --security tls on its implicit-TLS port (usually 995)',
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
      secure = await handshake({ ...options, socket: plain }, this.options.signal ?? AbortSignal.timeout(this.timeoutMs));
      verify?.(secure);
    } catch (err) {
      this.attach(plain);
      this.fail(err as Error, 'tls');
      throw this.failure;
    }
    this.socket = secure;
    this.secure = true;
    this.capabilities = null;
    this.attach(secure);
    return secure;
  }

  /**
   * Logs in. `auto` takes AUTH PLAIN when CAPA lists SASL PLAIN, else USER/PASS. Failures are
   * EAUTH (77), or ETEMPFAIL (75) for [IN-USE]/[SYS/TEMP]/[LOGIN-DELAY].
   */
  async login(user: string, secret: string, options: Pop3LoginOptions = {}): Promise<void> {
    const mechanisms = this.mechanisms;
    let mechanism = options.mechanism ?? 'auto';
    if (mechanism === 'auto') mechanism = mechanisms.includes('PLAIN') ? 'plain' : 'user';
    const context = { login: true, user, mechanisms };
    // A server may quote what it got (the password, the AUTH payload) in its refusal: never pass that on.
    const refused = (status: StatusLine, command: string) => pop3Failure(redactSecret(status.line, secret, user), command, context);
    if (mechanism === 'user') {
      const u = await this.single(`USER ${user}`);
      if (!u.ok) throw refused(u, 'USER');
      const p = await this.single(`PASS ${secret}`);
      if (!p.ok) throw refused(p, 'PASS');
      return;
    }
    const [name, payload] =
      mechanism === 'plain'
        ? ['PLAIN', plainPayload(user, secret)]
        : ['XOAUTH2', xoauth2Payload(user, secret)];
    const inline = (options.initialResponse ?? true) && `AUTH ${name} ${payload}`.length <= MAX_AUTH_LINE;
    let status = await this.single(inline ? `AUTH ${name} ${payload}` : `AUTH ${name}`);
    if (status.continuation && !inline) status = await this.single(payload);
    // XOAUTH2 failures come as a continuation carrying a JSON error; an empty line ends the exchange.
    if (status.continuation) status = await this.single('');
    if (!status.ok) throw refused(status, 'AUTH');
  }

  async stat(): Promise<{ count: number; size: number }> {
    const status = await this.ok('STAT');
    const [count, size] = status.text.split(/\s+/).map(Number);
    if (!Number.isInteger(count) || !Number.isInteger(size)) throw new ProtocolError('EPROTOCOL', `unexpected STAT reply: ${status.line}`, { response: status.line, command: 'STAT' });
    return { count: count!, size: size! };
  }

  private async listing(command: 'UIDL' | 'LIST'): Promise<{ id: number; value: string }[]> {
    const { status, body } = await this.collect(command);
    if (!status.ok) throw pop3Failure(status.line, command);
    return body!.lines.map((line) => {
      const match = /^(\d+)\s+(\S+)/.exec(line);
      if (!match) throw new ProtocolError('EPROTOCOL', `unexpected ${command} line: ${line.slice(0, 200)}`, { command });
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
    if (!uid) throw new ProtocolError('EPROTOCOL', `unexpected UIDL reply: ${status.line}`, { response: status.line, command: 'UIDL' });
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
   * Sends RETR. `body` resolves with the message's bytes as a stream once the server said +OK (it
   * ends after the last byte: dot-unstuffed, CRLF and 8-bit kept); `done` once all was received.
   */
  private startRetr(id: number): { body: Promise<Readable>; done: Promise<void> } {
    const stream = new PassThrough({ highWaterMark: BODY_HIGH_WATER });
    let open!: (s: Readable) => void;
    let refuse!: (err: unknown) => void;
    const body = new Promise<Readable>((resolve, reject) => {
      open = resolve;
      refuse = reject;
    });
    let opened = false;
    const done = this.expectAndSend(`RETR ${id}`, () => {
      opened = true;
      open(stream);
      return this.bodySink(stream, id);
    }).then(
      (status) => {
        if (!status.ok) throw pop3Failure(status.line, `RETR ${id}`);
      },
      (err: Error) => {
        // A body nobody was given has no 'error' listener: failing it would be an uncaught error.
        if (opened) stream.destroy(err);
        else stream.destroy();
        throw err;
      },
    );
    done.catch(refuse);
    return { body, done };
  }

  /** The message as a stream (resolves at +OK). */
  async retrStream(id: number): Promise<Readable> {
    const { body, done } = this.startRetr(id);
    done.catch(() => undefined);
    return body;
  }

  /** Streams message `id` into `sink` (ended afterwards); resolves with the byte count. */
  async retr(id: number, sink: Writable): Promise<number> {
    const stream = await this.retrStream(id);
    let bytes = 0;
    stream.on('data', (c: Buffer) => (bytes += c.length));
    await pipeline(stream, sink);
    return bytes;
  }

  /**
   * Fetches many messages in one burst: with PIPELINING up to `window` RETR commands are on the
   * wire at once, else one after the other. `onMessage` gets each body stream in order as it
   * starts, may overlap its work (e.g. fsync) with the next downloads, and must consume the
   * stream. The first failure stops new commands; in-flight ones finish; then it is thrown.
   */
  async retrMany(ids: readonly number[], onMessage: (id: number, body: Readable) => Promise<void> | void, options: RetrManyOptions = {}): Promise<void> {
    const window = this.capabilities?.has('PIPELINING') ? Math.max(1, options.window ?? 16) : 1;
    const inflight = new Set<Promise<void>>();
    const consumers: Promise<void>[] = [];
    let firstError: unknown;
    let next = 0;
    while (next < ids.length || inflight.size > 0) {
      while (firstError === undefined && next < ids.length && inflight.size < window) {
        const id = ids[next++]!;
        const { body, done } = this.startRetr(id);
        consumers.push(
          body
            .then(async (stream) => {
              try {
                await onMessage(id, stream);
              } finally {
                // A consumer that stopped early must not stall the connection.
                stream.resume();
              }
            })
            .catch((err) => void (firstError ??= err)),
        );
        const tracked: Promise<void> = done.catch((err) => void (firstError ??= err)).finally(() => inflight.delete(tracked));
        inflight.add(tracked);
      }
      if (inflight.size === 0) break;
      await Promise.race(inflight);
    }
    await Promise.all(consumers);
    if (firstError !== undefined) throw firstError;
  }

  /** Headers and the first `lines` body lines of a message (byte-exact). */
  async top(id: number, lines: number): Promise<Buffer> {
    const body = new CollectSink();
    const status = await this.expectAndSend(`TOP ${id} ${lines}`, () => body);
    if (!status.ok) throw pop3Failure(status.line, `TOP ${id}`);
    return body.bytes;
  }

  async dele(id: number): Promise<void> {
    await this.ok(`DELE ${id}`);
  }

  async rset(): Promise<void> {
    await this.ok('RSET');
  }

  async noop(): Promise<void> {
    await this.ok('NOOP');
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
    this.shutDown(new MailboxError('EPROTOCOL', 'the POP3 connection was closed'), () => this.socket.destroySoon());
  }
}

interface PendingCommand {
  onStatus(status: StatusLine): BodySink | undefined;
  onDone(): void;
  reject(err: Error): void;
}
