// In-memory stand-ins for the protocol adapters (Incoming, Outgoing), for fast unit tests of the
// jobs' logic on the memory store. They follow the adapters' contracts (src/protocols/types.ts);
// the real adapters are tested against real servers in test/integration.
import type { Incoming, IncomingStatus, MessageBody, Outgoing, OutgoingMessage, RemoteMessage, SendFailure, SendResult } from '../../src/protocols/types.js';

export function mail(n: number, extra = ''): Buffer {
  return Buffer.from(`Message-ID: <m${n}@test>\r\nFrom: sender${n}@example.test\r\nTo: alice@example.test\r\nSubject: message ${n}\r\n\r\nbody ${n}${extra}\r\n`);
}

/** An IMAP folder: UIDs, UIDVALIDITY, and calls counted. Messages above `large` bytes are streamed. */
export class FakeImap implements Incoming {
  readonly protocol = 'imap' as const;
  uidValidity = 100;
  uidNext = 1;
  messages: Array<{ uid: number; body: Buffer }> = [];
  readonly calls: string[] = [];
  /** Throws when this UID is about to be handed over (once). */
  failAt: number | undefined;
  /** Messages larger than this arrive as a stream of small chunks. */
  large = 4 * 1024 * 1024;

  add(...bodies: Buffer[]): number[] {
    return bodies.map((body) => {
      const uid = this.uidNext++;
      this.messages.push({ uid, body });
      return uid;
    });
  }

  /** A new UIDVALIDITY, every message renumbered (as after a server rebuilt its index). */
  renumber(): void {
    this.uidValidity += 1000;
    this.uidNext = 1;
    const bodies = this.messages.map((m) => m.body);
    this.messages = [];
    this.add(...bodies);
  }

  async status(): Promise<IncomingStatus> {
    this.calls.push('status');
    return { count: this.messages.length, uidValidity: this.uidValidity, uidNext: this.uidNext };
  }

  async list(fromUid = 1, sizeAbove = Infinity): Promise<RemoteMessage[]> {
    this.calls.push(`list ${fromUid}`);
    const threshold = Math.min(sizeAbove, 4 * 1024 * 1024);
    return this.messages
      .filter((m) => m.uid >= fromUid)
      .map((m) => ({ n: m.uid, key: `${this.uidValidity}/${m.uid}`, size: m.body.length > threshold ? m.body.length : 0 }));
  }

  async fetch(messages: RemoteMessage[], onMessage: (message: RemoteMessage, body: MessageBody) => Promise<void>): Promise<void> {
    this.calls.push(`fetch ${messages.map((m) => m.n).join(',')}`);
    for (const m of messages) {
      if (this.failAt === m.n) {
        this.failAt = undefined;
        throw new Error(`connection lost at UID ${m.n}`);
      }
      const found = this.messages.find((x) => x.uid === m.n);
      if (!found) continue;
      await onMessage({ ...m, size: found.body.length }, found.body.length > this.large ? chunked(found.body) : Buffer.from(found.body));
    }
  }

  async headers(messages: RemoteMessage[]): Promise<Map<number, Buffer>> {
    this.calls.push(`headers ${messages.map((m) => m.n).join(',')}`);
    return new Map(messages.flatMap((m) => this.messages.filter((x) => x.uid === m.n).map((x) => [m.n, headerOf(x.body)] as const)));
  }

  async remove(messages: RemoteMessage[]): Promise<void> {
    this.calls.push(`remove ${messages.map((m) => m.n).join(',')}`);
    const gone = new Set(messages.map((m) => m.n));
    this.messages = this.messages.filter((m) => !gone.has(m.uid));
  }

  async close(): Promise<void> {}
  abort(): void {}
}

function headerOf(body: Buffer): Buffer {
  const end = body.indexOf('\r\n\r\n');
  return end < 0 ? body : body.subarray(0, end + 4);
}

async function* chunked(body: Buffer, size = 1000): AsyncGenerator<Buffer> {
  for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
}

/** A POP3 maildrop: UIDLs and sizes; bodies arrive as streams (as RETR delivers them). */
export class FakePop3 implements Incoming {
  readonly protocol = 'pop3' as const;
  messages: Array<{ uidl: string; body: Buffer }> = [];
  readonly calls: string[] = [];
  failAt: string | undefined;
  private deleted = new Set<string>();

  async status(): Promise<IncomingStatus> {
    return { count: this.messages.length };
  }

  async list(): Promise<RemoteMessage[]> {
    this.calls.push('list');
    return this.messages.map((m, i) => ({ n: i + 1, key: m.uidl, size: m.body.length }));
  }

  async fetch(messages: RemoteMessage[], onMessage: (message: RemoteMessage, body: MessageBody) => Promise<void>): Promise<void> {
    this.calls.push(`fetch ${messages.map((m) => m.key).join(',')}`);
    for (const m of messages) {
      if (this.failAt === m.key) {
        this.failAt = undefined;
        throw new Error(`connection lost at ${m.key}`);
      }
      await onMessage(m, chunked(this.messages[m.n - 1]!.body));
    }
  }

  /** Without TOP unless told: the reader must do without headers. */
  top = false;

  async headers(messages: RemoteMessage[]): Promise<Map<number, Buffer>> {
    return new Map(this.top ? messages.map((m) => [m.n, headerOf(this.messages[m.n - 1]!.body)] as const) : []);
  }

  async remove(messages: RemoteMessage[]): Promise<void> {
    for (const m of messages) this.deleted.add(m.key);
  }

  /** QUIT commits the deletions. */
  async close(): Promise<void> {
    this.messages = this.messages.filter((m) => !this.deleted.has(m.uidl));
    this.deleted.clear();
  }

  abort(): void {
    this.deleted.clear(); // no QUIT: nothing is deleted
  }
}

export type Reply = { code: number; text: string } | 'drop';

/** An SMTP connection: replies chosen per recipient, sends counted, concurrency measured. */
export class FakeSmtp implements Outgoing {
  readonly sent: Array<{ to: string[]; body: Buffer }> = [];
  inFlight = 0;
  maxInFlight = 0;
  closed = false;
  /** The reply for a message to this recipient (default 250). */
  reply: (to: string) => Reply = () => ({ code: 250, text: '250 2.0.0 queued' });
  /** Waits before answering (lets sends overlap). */
  delayMs = 0;

  async send(message: OutgoingMessage, envelope: { from: string; to: string[] }): Promise<SendResult> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const content = await message.content();
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      const reply = this.reply(envelope.to[0]!);
      if (reply === 'drop') throw Object.assign(new Error('connection closed'), { connection: true });
      if (reply.code >= 400) throw Object.assign(new Error(reply.text), { responseCode: reply.code });
      this.sent.push({ to: envelope.to, body: Buffer.isBuffer(content) ? content : Buffer.alloc(0) });
      return { reply: reply.text, accepted: envelope.to, refused: [] };
    } finally {
      this.inFlight--;
    }
  }

  classify(err: unknown): SendFailure {
    const e = err as { responseCode?: number; connection?: boolean; message: string };
    return { permanent: (e.responseCode ?? 0) >= 500, message: e.message, connection: Boolean(e.connection) };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  abort(): void {
    this.closed = true;
  }
}
