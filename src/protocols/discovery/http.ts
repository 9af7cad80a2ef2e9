// Fetching a small configuration document (autoconfig, ISPDB) over https, http or from a file.
// node:https rather than fetch(): it takes our DNS lookup (MAILBOX_DNS_SERVERS) and leaves each
// redirect to us, so a redirect from https to http is refused instead of followed. Certificates are
// verified as Node does for every connection: its CA store plus NODE_EXTRA_CA_CERTS.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import { codeOf } from '../net/errno.js';
import { socketLookup } from '../net/dns.js';
import type { LookupFn } from '../net/socket.js';

const MAX_BYTES = 256 * 1024;
const MAX_REDIRECTS = 3;

export type FetchFailureKind = 'not-found' | 'no-host' | 'unreachable' | 'tls' | 'http' | 'redirect' | 'too-large' | 'timeout';

/** Why a document could not be fetched, in words, with a kind the callers decide on. */
export class FetchFailure extends Error {
  constructor(
    readonly kind: FetchFailureKind,
    message: string,
  ) {
    super(message);
  }
}

export interface Fetched {
  body: string;
  /** The URL the document came from, after redirects. */
  url: string;
  /** Some step was plain http: anyone on the path could have changed the document. */
  insecure: boolean;
}

export interface FetchOptions {
  signal: AbortSignal;
  lookup?: LookupFn;
}

const NETWORK_CODES = new Set(['EAI_AGAIN', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ETIMEOUT', 'ESERVFAIL', 'EADDRNOTAVAIL']);

function failureOf(err: unknown, url: URL, signal: AbortSignal): FetchFailure {
  if (err instanceof FetchFailure) return err;
  if (signal.aborted) return new FetchFailure('timeout', `${url.href}: no answer in time`);
  const code = codeOf(err);
  const text = (err as Error).message;
  if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED|UNABLE_TO/.test(code)) {
    return new FetchFailure('tls', `${url.host}: the certificate is not trusted: ${text} (${code})`);
  }
  if (code === 'ENOTFOUND' || code === 'ENODATA') return new FetchFailure('no-host', `${url.host}: no such host (${code})`);
  if (NETWORK_CODES.has(code)) return new FetchFailure('unreachable', `${url.host}: ${text} (${code})`);
  return new FetchFailure('unreachable', `${url.href}: ${text}${code ? ` (${code})` : ''}`);
}

/** One request, no redirect followed: the status, the Location, the body (bounded). */
function request(url: URL, o: FetchOptions): Promise<{ status: number; location?: string; body: string }> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, { signal: o.signal, headers: { accept: 'application/xml, text/xml', 'user-agent': 'mailbox (autoconfig)' }, ...(o.lookup ? { lookup: socketLookup(o.lookup) } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        res.resume();
        resolve({ status, location: res.headers.location, body: '' });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BYTES) {
          req.destroy(new FetchFailure('too-large', `${url.href}: larger than ${MAX_BYTES} bytes, not a mail configuration`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/**
 * The document at `url`, following up to 3 redirects; a redirect from https to http is refused
 * (the document would lose its protection on the way). 404 and 410 are 'not-found'.
 */
export async function fetchDocument(href: string, o: FetchOptions): Promise<Fetched> {
  let url = new URL(href);
  if (url.protocol === 'file:') {
    const body = await readFile(fileURLToPath(url), 'utf8').catch((err: unknown) => {
      throw new FetchFailure(codeOf(err) === 'ENOENT' ? 'not-found' : 'unreachable', `${url.href}: ${(err as Error).message}`);
    });
    return { body, url: url.href, insecure: false };
  }
  let insecure = false;
  for (let hop = 0; ; hop++) {
    insecure ||= url.protocol === 'http:';
    const answer = await request(url, o).catch((err: unknown) => {
      throw failureOf(err, url, o.signal);
    });
    if (answer.status >= 300 && answer.status < 400) {
      if (!answer.location) throw new FetchFailure('http', `${url.href}: redirect ${answer.status} without a Location`);
      const next = new URL(answer.location, url);
      if (url.protocol === 'https:' && next.protocol !== 'https:') {
        throw new FetchFailure('redirect', `${url.href}: redirect to ${next.href} refused (from https to ${next.protocol.replace(':', '')})`);
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new FetchFailure('redirect', `${url.href}: redirect to ${next.href} refused`);
      if (hop >= MAX_REDIRECTS) throw new FetchFailure('redirect', `${href}: more than ${MAX_REDIRECTS} redirects`);
      url = next;
      continue;
    }
    if (answer.status === 404 || answer.status === 410) throw new FetchFailure('not-found', `${url.href}: not found (HTTP ${answer.status})`);
    if (answer.status !== 200) throw new FetchFailure('http', `${url.href}: HTTP ${answer.status}`);
    return { body: answer.body, url: url.href, insecure };
  }
}
