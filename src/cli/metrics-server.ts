// `mailbox run --metrics HOST:PORT`: the runner's Prometheus metrics over HTTP (GET /metrics). On a
// loopback address by default; any other address only with --metrics-public, as the metrics name the
// accounts and are served without authentication.
import http from 'node:http';
import net from 'node:net';
import { invalid, MailboxError } from '../core/errors.js';
import { parsePort } from '../core/validate.js';
import type { RunnerMetrics } from '../jobs/metrics.js';

export interface MetricsAddress {
  host: string;
  port: number;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return net.isIPv6(host) && (host === '::1' || /^::ffff:127\./i.test(host));
}

/** "127.0.0.1:9464", "[::1]:9464", "localhost:9464", ":9464" or "9464" (loopback); others need `allowPublic`. */
export function parseMetricsAddress(value: string, allowPublic: boolean): MetricsAddress {
  const accepted = 'HOST:PORT or PORT, such as 127.0.0.1:9464, [::1]:9464 or 9464 (loopback)';
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(value.trim()) ?? /^()()(\d+)$/.exec(value.trim());
  if (!match) throw invalid('metrics', value, accepted);
  const host = (match[1] ?? match[2] ?? '') || '127.0.0.1';
  if (!net.isIP(host) && host !== 'localhost') throw invalid('metrics', value, `${accepted}; the host an IP address or localhost`);
  const port = parsePort(match[3], 'metrics port');
  if (!isLoopback(host) && !allowPublic) {
    throw new MailboxError('EVALUE', `invalid metrics ${JSON.stringify(value)}: ${host} is not a loopback address, and the metrics name your accounts and are served without authentication`, {
      field: 'metrics',
      hint: 'serve them on 127.0.0.1 (behind a proxy that authenticates), or add --metrics-public to serve them on this address',
    });
  }
  return { host, port };
}

/** Serves the metrics until closed; rejects when the address cannot be listened on. */
export async function serveMetrics(metrics: RunnerMetrics, address: MetricsAddress): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    metrics.scrape().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(req.method === 'HEAD' ? undefined : body),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new MailboxError(err.code === 'EADDRINUSE' ? 'ETEMPFAIL' : 'EIO', `cannot serve metrics on ${address.host}:${address.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}`, { field: 'metrics', cause: err })),
    );
    server.listen(address.port, address.host, () => resolve());
  });
  const bound = server.address() as net.AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${host}:${bound.port}/metrics`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
