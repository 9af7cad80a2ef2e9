// The test mail: deterministic from (seed, index), so any message can be rebuilt to check what a tool stored.
// Mixed corpus, about 5 KB on average: plain text, 8-bit UTF-8 bodies (with lines starting with a dot and
// "From "), multipart messages with a base64 attachment, and a few larger ones with 998-byte lines.
// Line ends are LF, as Maildir files keep them; IMAP and POP3 servers send them as CRLF.
import fs from 'node:fs';
import path from 'node:path';

/** mulberry32: small, fast, and the same sequence on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = 'the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her she there been one all we their has would when if so no will what can more said about into them some could than other then its out only two time like these may first'.split(' ');
const WORDS_8BIT = ['café', 'Grüße', 'naïve', 'Ærøskøbing', '東京', 'привет', 'smörgåsbord', 'ça', 'jalapeño', 'Ελληνικά', 'ﬁn', '€100'];

export type CorpusKind = 'mixed' | 'small';

export function messageId(seed: number, index: number): string {
  return `<bench-${seed}-${index}@corpus.example.test>`;
}

function lines(rand: () => number, bytes: number, words: () => string, maxLine = 72): string {
  const out: string[] = [];
  let size = 0;
  let line = '';
  while (size + line.length < bytes) {
    const word = words();
    if (line.length + word.length + 1 > maxLine) {
      out.push(line);
      size += Buffer.byteLength(line) + 1;
      line = '';
    }
    line = line ? `${line} ${word}` : word;
    if (rand() < 0.01) {
      out.push(line, '');
      size += Buffer.byteLength(line) + 2;
      line = '';
    }
  }
  if (line) out.push(line);
  return out.join('\n');
}

function date(index: number): string {
  return new Date(Date.UTC(2024, 0, 1) + index * 60_000).toUTCString().replace('GMT', '+0000');
}

function headers(seed: number, index: number, rand: () => number, contentType: string, extra = ''): string {
  const sender = 1 + Math.floor(rand() * 200);
  return [
    `Return-Path: <sender${sender}@example.test>`,
    `From: Sender ${sender} <sender${sender}@example.test>`,
    'To: Alice <alice@example.test>',
    `Subject: bench message ${index}`,
    `Date: ${date(index)}`,
    `Message-ID: ${messageId(seed, index)}`,
    'MIME-Version: 1.0',
    `Content-Type: ${contentType}`,
    ...(extra ? [extra] : []),
    '',
    '',
  ].join('\n');
}

function base64Lines(rand: () => number, rawBytes: number): string {
  const raw = Buffer.alloc(rawBytes);
  for (let i = 0; i < rawBytes; i++) raw[i] = Math.floor(rand() * 256);
  return raw.toString('base64').replace(/.{76}/g, '$&\n');
}

/** Message `index` (1-based) of the corpus of this seed and kind, as the bytes of a Maildir file. */
export function makeMessage(seed: number, index: number, kind: CorpusKind = 'mixed'): Buffer {
  const rand = prng((seed * 1_000_003 + index) >>> 0);
  const pick = <T>(list: T[]) => list[Math.floor(rand() * list.length)]!;
  const ascii = () => pick(WORDS);
  const eightBit = () => (rand() < 0.2 ? pick(WORDS_8BIT) : pick(WORDS));
  if (kind === 'small') {
    return Buffer.from(headers(seed, index, rand, 'text/plain; charset=us-ascii') + lines(rand, 200 + rand() * 400, ascii) + '\n');
  }
  const r = rand();
  let text: string;
  if (r < 0.55) {
    text = headers(seed, index, rand, 'text/plain; charset=us-ascii') + lines(rand, 1500 + rand() * 5500, ascii) + '\n';
  } else if (r < 0.75) {
    const body = lines(rand, 1500 + rand() * 5500, eightBit);
    // Lines a POP3 server must dot-stuff and an mbox writer would quote.
    text = headers(seed, index, rand, 'text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit') +
      `${body}\n.leading dot line\n..two dots\nFrom the start of a line\n.\n`;
  } else if (r < 0.95) {
    const boundary = `=_bench_${index}_${Math.floor(rand() * 1e9)}`;
    text = headers(seed, index, rand, `multipart/mixed; boundary="${boundary}"`) +
      `This is a multi-part message in MIME format.\n\n--${boundary}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n` +
      `${lines(rand, 500 + rand() * 1500, eightBit)}\n\n--${boundary}\n` +
      `Content-Type: application/octet-stream; name="data-${index}.bin"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="data-${index}.bin"\n\n` +
      `${base64Lines(rand, Math.floor(1000 + rand() * 4500))}\n--${boundary}--\n`;
  } else {
    text = headers(seed, index, rand, 'text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit') +
      lines(rand, 10_000 + rand() * 10_000, eightBit, 998) + '\n';
  }
  return Buffer.from(text, 'utf8');
}

/** Writes messages 1..count as DIR/00001.eml ...; returns the files in order. */
export function writeCorpus(dir: string, seed: number, count: number, kind: CorpusKind = 'mixed'): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 1; i <= count; i++) {
    const file = path.join(dir, `${String(i).padStart(6, '0')}.eml`);
    fs.writeFileSync(file, makeMessage(seed, i, kind));
    files.push(file);
  }
  return files;
}

/**
 * One message of about `bytes` (a base64 attachment), streamed to `file` without holding it in memory.
 * Returns its size and its size as a server sends it (CRLF line ends).
 */
export async function writeBigMessage(file: string, seed: number, bytes: number): Promise<{ size: number; crlfSize: number }> {
  const rand = prng(seed);
  const head = headers(seed, 0, rand, 'multipart/mixed; boundary="=_big"') +
    '--=_big\nContent-Type: application/octet-stream; name="big.bin"\nContent-Transfer-Encoding: base64\n\n';
  const block = Buffer.from(base64Lines(rand, 57 * 16 * 1024)); // 16 Ki lines of 76 characters
  const out = fs.createWriteStream(file);
  const write = (chunk: Buffer | string) =>
    new Promise<void>((resolve, reject) => (out.write(chunk, (err) => (err ? reject(err) : resolve()))));
  const lfIn = (s: string | Buffer) => s.toString().split('\n').length - 1;
  const blockLf = lfIn(block);
  let written = 0;
  let lf = 0;
  await write(head);
  written += Buffer.byteLength(head);
  lf += lfIn(head);
  while (written < bytes) {
    // Whole 77-byte lines of the block, the last time only as many as reach the size asked for.
    const part = written + block.length <= bytes ? block : block.subarray(0, Math.ceil((bytes - written) / 77) * 77);
    await write(part);
    written += part.length;
    lf += part === block ? blockLf : part.length / 77;
  }
  const tail = '\n--=_big--\n';
  await write(tail);
  written += tail.length;
  lf += lfIn(tail);
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return { size: written, crlfSize: written + lf };
}

/** The Message-ID header of a stored message (first 64 KB are enough). */
export function readMessageId(buf: Buffer): string | undefined {
  const head = buf.subarray(0, 65536).toString('latin1');
  const m = /^Message-ID:\s*(<[^>\r\n]+>)/im.exec(head);
  return m?.[1];
}

/** seed and index from one of our Message-IDs. */
export function parseMessageId(id: string): { seed: number; index: number } | undefined {
  const m = /^<bench-(\d+)-(\d+)@corpus\.example\.test>$/.exec(id);
  return m ? { seed: Number(m[1]), index: Number(m[2]) } : undefined;
}
