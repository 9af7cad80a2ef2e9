// POP3 response parsing on raw bytes: status lines, and multi-line bodies with the terminating
// ".CRLF" found across chunk boundaries and dot-stuffing undone, everything else byte for byte
// (CRLF and 8-bit kept). Hand-written because node-pop3 decodes bodies as UTF-8 text and keeps
// the stuffed dots.

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
/** A status line longer than this is not POP3 (RFC 2449 allows 512 octets). */
const MAX_STATUS_LINE = 64 * 1024;

export interface BodySink {
  write(chunk: Buffer): void;
  end(): void;
}

export interface StatusLine {
  ok: boolean;
  /** "+ ..." SASL continuation. */
  continuation: boolean;
  /** The text after +OK / -ERR / +. */
  text: string;
  line: string;
}

/** The bytes are not POP3; the client turns this into the Peer's protocol violation at once. */
export class Pop3ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Pop3ParseError';
  }
}

/**
 * RFC 1939 §3 makes servers send "+OK"/"-ERR" in upper case; we read them in any case (a server
 * that says "+ok" still means yes, and nothing else starts with those letters).
 */
export function parseStatus(line: string): StatusLine {
  const head = line.slice(0, 4).toUpperCase();
  if (head.startsWith('+OK')) return { ok: true, continuation: false, text: line.slice(3).trimStart(), line };
  if (head === '-ERR') return { ok: false, continuation: false, text: line.slice(4).trimStart(), line };
  if (line === '+' || line.startsWith('+ ')) return { ok: true, continuation: true, text: line.slice(2), line };
  throw new Pop3ParseError(`not a POP3 status line: ${JSON.stringify(line.slice(0, 200))}`);
}

/**
 * Decodes one multi-line body. push() returns how many bytes of the chunk belonged to the body
 * (terminator included) once the body ended, or -1 when the whole chunk was body.
 */
export class DotDecoder {
  private atLineStart = true;
  /** A "." or ".\r" at a line start, waiting for the next chunk to tell stuffing from the end. */
  private carry: Buffer | undefined;

  constructor(private readonly sink: BodySink) {}

  push(chunk: Buffer): number {
    const carried = this.carry?.length ?? 0;
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = undefined;
    let pos = 0;
    let runStart = 0;
    const flush = (end: number) => {
      if (end > runStart) this.sink.write(buf.subarray(runStart, end));
    };
    while (pos < buf.length) {
      if (this.atLineStart) {
        if (buf[pos] !== DOT) {
          this.atLineStart = false;
          continue;
        }
        const next = buf[pos + 1];
        const afterCr = buf[pos + 2];
        const end = next === LF ? pos + 2 : next === CR && afterCr === LF ? pos + 3 : -1;
        if (end > 0) {
          flush(pos);
          this.sink.end();
          return end - carried;
        }
        if (next === undefined || (next === CR && afterCr === undefined)) {
          flush(pos);
          this.carry = Buffer.from(buf.subarray(pos));
          return -1;
        }
        // A stuffed dot: drop it, keep the rest of the line.
        flush(pos);
        runStart = pos + 1;
        pos += 1;
        this.atLineStart = false;
        continue;
      }
      const lf = buf.indexOf(LF, pos);
      if (lf < 0) {
        pos = buf.length;
        break;
      }
      pos = lf + 1;
      this.atLineStart = true;
    }
    flush(buf.length);
    return -1;
  }
}

export interface PendingResponse {
  /** The status line arrived; return a sink when a multi-line body follows it. */
  onStatus(status: StatusLine): BodySink | undefined;
  /** The response is complete (status, and body if any). */
  onDone(): void;
}

/** Matches responses to the commands sent, in order (pipelining keeps the order). */
export class Pop3ResponseReader {
  private queue: PendingResponse[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private decoder: DotDecoder | undefined;

  get waiting(): number {
    return this.queue.length;
  }

  expect(pending: PendingResponse): void {
    this.queue.push(pending);
  }

  /** Drops whatever was received but not parsed (before a TLS upgrade). Returns its length. */
  discardBuffered(): number {
    const n = this.buffer.length;
    this.buffer = Buffer.alloc(0);
    return n;
  }

  /** Takes the pending responses (after a failure, to reject them). */
  drain(): PendingResponse[] {
    const all = this.queue;
    this.queue = [];
    this.decoder = undefined;
    return all;
  }

  /** Feeds received bytes; throws Pop3ParseError on a protocol violation. */
  feed(chunk: Buffer): void {
    let data = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    this.buffer = Buffer.alloc(0);
    while (data.length > 0) {
      const head = this.queue[0];
      if (!head) throw new Pop3ParseError(`unexpected data from the server: ${JSON.stringify(data.subarray(0, 80).toString('latin1'))}`);
      if (this.decoder) {
        const used = this.decoder.push(data);
        if (used < 0) return;
        data = data.subarray(used);
        this.decoder = undefined;
        this.queue.shift();
        head.onDone();
        continue;
      }
      const lf = data.indexOf(LF);
      if (lf < 0) {
        if (data.length > MAX_STATUS_LINE) throw new Pop3ParseError(`status line longer than ${MAX_STATUS_LINE} bytes`);
        this.buffer = Buffer.from(data);
        return;
      }
      const line = data.subarray(0, lf).toString('utf8').replace(/\r$/, '');
      data = data.subarray(lf + 1);
      const sink = head.onStatus(parseStatus(line));
      if (sink) {
        this.decoder = new DotDecoder(sink);
      } else {
        this.queue.shift();
        head.onDone();
      }
    }
  }
}

/** Default cap of a collected body: a listing of a very large mailbox fits, an endless one does not. */
const MAX_COLLECTED = 32 * 1024 * 1024;

/** Collects a (small) multi-line body: CAPA, UIDL, LIST, TOP; a body beyond `limit` bytes is a protocol error. */
export class CollectSink implements BodySink {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit = MAX_COLLECTED) {}
  write(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.limit) throw new Pop3ParseError(`multi-line reply longer than ${this.limit} bytes`);
    this.chunks.push(Buffer.from(chunk));
  }
  end(): void {}
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
  /** Body lines without line endings (for the listing commands). */
  get lines(): string[] {
    const text = this.bytes.toString('utf8');
    return text.split(/\r?\n/).filter((line, i, all) => !(line === '' && i === all.length - 1));
  }
}
