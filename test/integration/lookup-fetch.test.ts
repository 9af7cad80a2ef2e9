// The fetch that openid-client gets with MAILBOX_DNS_SERVERS, against a real DNS server and an HTTP
// server on loopback: the name resolved through the DNS server, the request as fetch sends it, a
// redirect handed back (not followed), and failures shaped as Node's fetch shapes them, so that the
// OAuth failure words them the same.
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dns } from '../../src/protocols/net/dns.js';
import { fetchWithLookup } from '../../src/protocols/net/lookup-fetch.js';
import { oauthFailure } from '../../src/protocols/oauth/failures.js';
import { closedPort, HOST } from '../harness/index.js';
import { startDnsServer, type DnsServer } from '../harness/dns-server.js';

let dns: DnsServer;
let server: http.Server;
let port: number;
let fetchVia: typeof fetch;

beforeAll(async () => {
  dns = await startDnsServer();
  dns.set('token.test', [{ type: 'A', address: HOST }]);
  fetchVia = fetchWithLookup(new Dns([dns.address]).lookup!);
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/moved') return void res.writeHead(302, { location: '/elsewhere' }).end();
      if (req.url === '/empty') return void res.writeHead(204).end();
      if (req.url === '/never') return; // no answer
      res.writeHead(200, { 'content-type': 'application/json', 'x-two': ['a', 'b'] });
      res.end(JSON.stringify({ method: req.method, host: req.headers.host, type: req.headers['content-type'], accept: req.headers.accept, body: Buffer.concat(chunks).toString() }));
    });
  });
  port = await new Promise<number>((resolve) => server.listen(0, HOST, () => resolve((server.address() as net.AddressInfo).port)));
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await dns?.stop();
});

describe('fetchWithLookup', () => {
  it('resolves the name through the DNS server and sends what fetch would: method, headers, a form body', async () => {
    const before = dns.queries().length;
    const res = await fetchVia(`http://token.test:${port}/token`, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'r 1' }),
      redirect: 'manual',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-two')).toBe('a, b');
    expect(await res.json()).toEqual({ method: 'POST', host: `token.test:${port}`, type: 'application/x-www-form-urlencoded;charset=UTF-8', accept: 'application/json', body: 'grant_type=refresh_token&refresh_token=r+1' });
    expect(dns.queries().slice(before)).toContain('A token.test');
  });

  it('a redirect comes back as it is (openid-client asks for redirect "manual"); a 204 has no body', async () => {
    const moved = await fetchVia(`http://token.test:${port}/moved`, { redirect: 'manual' });
    expect(moved.status).toBe(302);
    expect(moved.headers.get('location')).toBe('/elsewhere');
    const empty = await fetchVia(`http://token.test:${port}/empty`);
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe('');
  });

  it('failures look like fetch failures: the same words for a refused connection, ENOTFOUND from the DNS server, a timeout', async () => {
    const closed = await closedPort();
    const ours = await fetchVia(`http://${HOST}:${closed}/token`).catch((e: unknown) => e);
    const node = await fetch(`http://${HOST}:${closed}/token`).catch((e: unknown) => e);
    expect(ours).toBeInstanceOf(TypeError);
    expect(oauthFailure(ours, 'refreshing').message).toBe(oauthFailure(node, 'refreshing').message);
    expect(oauthFailure(ours, 'refreshing').message).toContain('cannot be reached (fetch failed (ECONNREFUSED))');

    const unknown = await fetchVia(`http://nowhere.test:${port}/token`).catch((e: unknown) => e);
    expect(oauthFailure(unknown, 'refreshing')).toMatchObject({ code: 'EUNREACHABLE', message: 'refreshing failed: the authorization server cannot be reached (fetch failed (ENOTFOUND))' });

    const late = await fetchVia(`http://token.test:${port}/never`, { signal: AbortSignal.timeout(300) }).catch((e: unknown) => e);
    expect((late as Error).name).toBe('TimeoutError');
    expect(oauthFailure(late, 'refreshing')).toMatchObject({ code: 'ETIMEDOUT', message: 'refreshing timed out' });
  });
});
