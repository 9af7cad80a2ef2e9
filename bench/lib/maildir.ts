// Checking what a tool stored: message files in a Maildir, and a byte comparison against the corpus.
import fs from 'node:fs';
import path from 'node:path';
import { makeMessage, parseMessageId, readMessageId, type CorpusKind } from './corpus.js';

export function maildirFiles(dir: string): string[] {
  const files: string[] = [];
  for (const sub of ['new', 'cur']) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(path.join(dir, sub));
    } catch {
      continue;
    }
    for (const name of names) if (!name.startsWith('.')) files.push(path.join(dir, sub, name));
  }
  return files;
}

/** Throws unless the Maildir holds exactly `expected` messages. */
export function expectCount(dir: string, expected: number, what = 'messages'): void {
  const got = maildirFiles(dir).length;
  if (got !== expected) throw new Error(`received ${got} of ${expected} ${what} in ${dir}`);
}

/** Throws unless the Maildir's one message has `size` bytes. */
export function expectSize(dir: string, size: number): void {
  const [file] = maildirFiles(dir);
  const got = file ? fs.statSync(file).size : 0;
  if (got !== size) throw new Error(`stored message has ${got} bytes, the server sent ${size}`);
}

const crlf = (buf: Buffer) => Buffer.from(buf.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');

/**
 * Compares up to `sample` stored messages, spread over the folder, with the corpus message of the same
 * Message-ID as the server sends it (CRLF line ends). Throws on the first difference.
 */
export function compareSample(dir: string, kind: CorpusKind, sample: number): number {
  const files = maildirFiles(dir).sort();
  const step = Math.max(1, Math.floor(files.length / sample));
  let compared = 0;
  for (let i = 0; i < files.length && compared < sample; i += step) {
    const stored = fs.readFileSync(files[i]!);
    const id = readMessageId(stored);
    const origin = id && parseMessageId(id);
    if (!origin) throw new Error(`${files[i]}: no corpus Message-ID`);
    const sent = crlf(makeMessage(origin.seed, origin.index, kind));
    if (!stored.equals(sent)) {
      const at = firstDifference(stored, sent);
      throw new Error(`${files[i]} differs from corpus message ${origin.index} at byte ${at} (stored ${stored.length} bytes, server sent ${sent.length})`);
    }
    compared++;
  }
  return compared;
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}
