// HTTP(S) servers on loopback for discovery tests: autoconfig hosts and an ISPDB. A page is set per
// host name and path (the Host header picks the site, as virtual hosts do); a page can be a document,
// a redirect, a status, or a request that never gets an answer.
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { HOST } from './ports.js';

export type Page = { body: string; type?: string } | { redirect: string; status?: number } | { status: number } | 'hang';

export interface WebServer {
  /** The address it listens on. */
  host: string;
  port: number;
  /** "https://127.0.0.1:PORT" (or http). */
  origin: string;
  /** Sets what `host` + `path` answers (path without the query string). */
  page(host: string, path: string, page: Page): void;
  clear(): void;
  /** The requests so far, "host/path?query". */
  requests(): string[];
  stop(): Promise<void>;
}

export interface WebServerOptions {
  /** A PEM certificate (chain) and key: https; absent: plain http. */
  tls?: { certFile: string; keyFile: string };
  /** Listen on this address (default 127.0.0.1) ... */
  host?: string;
  /** ... and port (default: one the OS picks). */
  port?: number;
}

function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

export async function startWebServer(o: WebServerOptions = {}): Promise<WebServer> {
  const pages = new Map<string, Page>();
  const asked: string[] = [];
  const hanging = new Set<http.ServerResponse>();
  const handler: http.RequestListener = (req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const url = new URL(req.url ?? '/', 'http://x');
    asked.push(`${host}${url.pathname}${url.search}`);
    const page = pages.get(`${host}${url.pathname}`);
    if (page === 'hang') {
      hanging.add(res);
      return;
    }
    if (!page) {
      res.writeHead(404).end('not found');
    } else if ('redirect' in page) {
      res.writeHead(page.status ?? 302, { location: page.redirect }).end();
    } else if ('body' in page) {
      res.writeHead(200, { 'content-type': page.type ?? 'application/xml' }).end(page.body);
    } else {
      res.writeHead(page.status).end();
    }
  };
  const server = o.tls ? https.createServer({ cert: readFileSync(o.tls.certFile), key: readFileSync(o.tls.keyFile) }, handler) : http.createServer(handler);
  const host = o.host ?? HOST;
  const port = await listen(server, host, o.port ?? 0);
  let stopped: Promise<void> | undefined;
  return {
    host,
    port,
    origin: `${o.tls ? 'https' : 'http'}://${host}:${port}`,
    page: (h, path, page) => void pages.set(`${h.toLowerCase()}${path}`, page),
    clear: () => pages.clear(),
    requests: () => [...asked],
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      })),
  };
}

/** Whether this process may listen on ports below 1024 (root, or the sysctl lowered). */
export function canBindPrivilegedPorts(): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8')) <= 443;
  } catch {
    return false;
  }
}

/** A loopback address of its own (127.x.y.z: every one of them reaches this machine), for a server on a well-known port. */
export function loopbackAddress(): string {
  return `127.${randomInt(64, 250)}.${randomInt(1, 250)}.${randomInt(2, 250)}`;
}

/** Starts a server on `port` of a loopback address nobody else uses (tries a few). */
export async function startOnOwnLoopback<T>(start: (host: string) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(loopbackAddress());
    } catch (err) {
      if (attempt >= 5 || (err as { code?: string }).code !== 'EADDRINUSE') throw err;
    }
  }
}
