// A loopback server that plays a script: the odd, broken and hostile behaviours Dovecot and the
// smtp-server package never produce (RFC-legal oddities, garbage, stalls, endless lines, early
// replies, STARTTLS injection, TLS with bad certificates or old protocol versions).
//
// One script per server; it runs once per accepted connection with a `ScriptConn` that reads the
// client's lines and writes raw bytes. A script that throws (the client said something unexpected)
// is recorded in `errors` and the connection is dropped, so tests can assert the client's side AND
// that the exchange went as scripted.
import net from 'node:net';
import tls from 'node:tls';
import { HOST, listenOnLoopback } from './ports.js';

export interface ScriptConn {
  /** Every line the client sent so far (line endings removed, decoded as latin1 to keep bytes). */
  readonly received: string[];
  /** Raw bytes, exactly as given. */
  write(data: string | Buffer): void;
  /** `text` + CRLF. */
  line(text: string): void;
  /** The client's next line; rejects when the client goes away. */
  readLine(): Promise<string>;
  /** Reads one line and throws unless it matches. Returns it. */
  expect(pattern: RegExp): Promise<string>;
  /** Writes `data` a few bytes at a time with a pause between (split packets on the wire). */
  drip(data: string | Buffer, chunk?: number, pauseMs?: number): Promise<void>;
  /** Server side of STARTTLS: the TLS handshake on this connection with the server's certificate. */
  startTls(): Promise<void>;
  /** Ends the connection cleanly (FIN). */
  end(): void;
  /** Resets the connection (RST where the OS allows). */
  destroy(): void;
  /** Waits until the client closes (a server that stalls). */
  untilClosed(): Promise<void>;
  /** Writes `piece` over and over until the client closes; resolves with the bytes written. */
  flood(piece: string | Buffer): Promise<number>;
}

export type Script = (conn: ScriptConn) => Promise<void>;

export interface ScriptedServerOptions {
  /** Certificate and key for STARTTLS and implicit TLS (PEM). */
  tls?: tls.SecureContextOptions & { minVersion?: tls.SecureVersion; maxVersion?: tls.SecureVersion };
  /** Shake hands at accept (implicit TLS) instead of on startTls(). */
  implicitTls?: boolean;
}

export interface ScriptedServer {
  host: typeof HOST;
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** Every line received on every connection, in order. */
  received(): string[];
  /** Script failures and TLS handshake errors seen by the server. */
  readonly errors: Error[];
  /** Resolves when every accepted connection is closed (client gone, or the script ended it). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

class Conn implements ScriptConn {
  readonly received: string[] = [];
  private buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private gone = false;
  readonly closed: Promise<void>;

  constructor(
    private socket: net.Socket,
    private readonly options: ScriptedServerOptions,
    private readonly all: string[],
  ) {
    this.closed = new Promise((resolve) => this.watch(socket, resolve));
  }

  private watch(socket: net.Socket, onGone: () => void): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.gone = true;
      this.wake();
      onGone();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(data);
  }

  line(text: string): void {
    this.write(`${text}\r\n`);
  }

  readLine(): Promise<string> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const lf = this.buffer.indexOf(0x0a);
        if (lf >= 0) {
          const text = this.buffer.subarray(0, lf).toString('latin1').replace(/\r$/, '');
          this.buffer = this.buffer.subarray(lf + 1);
          this.received.push(text);
          this.all.push(text);
          return resolve(text);
        }
        if (this.gone) return reject(new Error('client closed the connection'));
        this.waiter = attempt;
      };
      attempt();
    });
  }

  async expect(pattern: RegExp): Promise<string> {
    const text = await this.readLine();
    if (!pattern.test(text)) throw new Error(`expected ${pattern}, client sent ${JSON.stringify(text)}`);
    return text;
  }

  async drip(data: string | Buffer, chunk = 1, pauseMs = 1): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    this.socket.setNoDelay(true);
    for (let i = 0; i < bytes.length && !this.gone; i += chunk) {
      this.write(bytes.subarray(i, i + chunk));
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }

  async startTls(): Promise<void> {
    if (!this.options.tls) throw new Error('startTls: the scripted server has no certificate');
    const plain = this.socket;
    plain.removeAllListeners('data');
    this.buffer = Buffer.alloc(0);
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: tls.createSecureContext(this.options.tls), ...versions(this.options) });
    secure.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      secure.once('secure', resolve);
      secure.once('error', reject);
      secure.once('close', () => reject(new Error('client closed during the TLS handshake')));
    });
    this.socket = secure;
    secure.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.resetAndDestroy?.() ?? this.socket.destroy();
  }

  untilClosed(): Promise<void> {
    return this.closed;
  }

  async flood(piece: string | Buffer): Promise<number> {
    const bytes = typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece;
    let written = 0;
    while (!this.gone && !this.socket.destroyed) {
      // Respect back-pressure: a client that stops reading stops the flood (its memory is the test).
      if (!this.socket.write(bytes)) await new Promise<void>((r) => (this.socket.once('drain', r), this.socket.once('close', r)));
      written += bytes.length;
      if (written % (1 << 20) < bytes.length) await new Promise((r) => setImmediate(r));
    }
    return written;
  }
}

function versions(options: ScriptedServerOptions): { minVersion?: tls.SecureVersion; maxVersion?: tls.SecureVersion } {
  return { minVersion: options.tls?.minVersion, maxVersion: options.tls?.maxVersion };
}

export async function startScriptedServer(script: Script, options: ScriptedServerOptions = {}): Promise<ScriptedServer> {
  const sockets = new Set<net.Socket>();
  const open = new Set<Promise<void>>();
  const errors: Error[] = [];
  const all: string[] = [];
  let accepted = 0;
  const onConnection = (socket: net.Socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    const conn = new Conn(socket, options, all);
    const done = conn.closed.then(() => void sockets.delete(socket));
    open.add(done);
    void done.then(() => open.delete(done));
    script(conn).catch((err: Error) => {
      if (!/client closed/.test(err.message)) errors.push(err);
      socket.destroy();
    });
  };
  const server = options.implicitTls
    ? tls.createServer({ ...options.tls, ...versions(options) }, onConnection)
    : net.createServer(onConnection);
  // Raw connections too: an implicit-TLS one whose handshake never completes must not keep stop() waiting.
  const raw = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    raw.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => raw.delete(socket));
  });
  server.on('tlsClientError', (err: Error, socket: net.Socket) => {
    errors.push(err);
    socket.destroy();
  });
  const port = await listenOnLoopback(server);
  let stopped: Promise<void> | undefined;
  return {
    host: HOST,
    port,
    connections: () => accepted,
    received: () => [...all],
    errors,
    settled: async () => {
      while (open.size > 0) await Promise.all([...open]);
    },
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        for (const s of [...sockets, ...raw]) s.destroy();
        server.close(() => resolve());
      })),
  };
}

/**
 * Serves commands until the client leaves: each line goes to the handler named by its first word
 * (upper-cased; IMAP scripts pass `word: 1` to skip the tag). A handler returning 'stop' ends the
 * loop; a command with no handler fails the script.
 */
export async function serveCommands(
  conn: ScriptConn,
  handlers: Record<string, (line: string, args: string[]) => void | 'stop' | Promise<void | 'stop'>>,
  word = 0,
): Promise<void> {
  for (;;) {
    let line: string;
    try {
      line = await conn.readLine();
    } catch {
      return; // the client left
    }
    const parts = line.split(' ');
    const verb = (parts[word] ?? '').toUpperCase();
    const handler = handlers[verb];
    if (!handler) throw new Error(`unscripted command ${JSON.stringify(line)}`);
    if ((await handler(line, parts)) === 'stop') return;
  }
}
