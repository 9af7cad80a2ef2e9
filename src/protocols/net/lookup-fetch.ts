// A fetch() whose connections resolve host names through our lookup (MAILBOX_DNS_SERVERS), for a
// library that takes a fetch of its own (openid-client). Node 20's fetch (undici) takes a lookup only
// through an undici Agent, a package we do not depend on; node:http(s) takes one per request. Only
// what such a library asks of fetch: method, headers, a body, the signal. No redirect is followed:
// oauth4webapi asks for redirect 'manual' and gets a 3xx back as it is, as from fetch. A failure looks
// like fetch's (a TypeError "fetch failed" with the system error as its cause; the signal's reason on
// abort), so the callers word it as before.
import http from 'node:http';
import https from 'node:https';
import { socketLookup } from './dns.js';
import type { LookupFn } from './socket.js';

/** Statuses whose response has no body (a Response refuses one). */
const NULL_BODY = new Set([101, 204, 205, 304]);

function headersOf(raw: string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  return headers;
}

export function fetchWithLookup(lookup: LookupFn): typeof fetch {
  const resolve = socketLookup(lookup);
  return async (input, init) => {
    // Request does what fetch does with the arguments: the body (URLSearchParams, string, bytes) as bytes, the headers normalized.
    const request = new Request(input, init);
    const { signal } = request;
    const url = new URL(request.url);
    const client = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
    if (!client) throw new TypeError('fetch failed', { cause: new Error(`${url.protocol} URLs are not fetched`) });
    const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    const headers: Record<string, string> = Object.fromEntries(request.headers);
    if (body) headers['content-length'] = String(body.length);
    signal.throwIfAborted();
    return new Promise<Response>((done, fail) => {
      const failed = (err: unknown) => fail(signal.aborted ? signal.reason : new TypeError('fetch failed', { cause: err }));
      const req = client.request(url, { method: request.method, headers, lookup: resolve, signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', failed);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          done(new Response(NULL_BODY.has(status) ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: headersOf(res.rawHeaders) }));
        });
      });
      req.on('error', failed);
      req.end(body);
    });
  };
}
