// The DNS client against a real DNS server on loopback: records in the order they are tried, "no
// record" as an empty answer, a server that never answers given up on when the caller aborts (no
// query left behind), and the lookup the sockets use.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dns } from '../../src/protocols/net/dns.js';
import { startDnsServer, type DnsServer } from '../harness/dns-server.js';

let server: DnsServer;
let dns: Dns;
beforeAll(async () => {
  server = await startDnsServer();
  dns = new Dns([server.address]);
});
afterAll(() => server?.stop());

describe('Dns', () => {
  it('MX lowest preference first; SRV by priority then weight, a target "." as ""', async () => {
    server.set('example.test', [{ type: 'MX', exchange: 'mx2.example.test', priority: 20 }, { type: 'MX', exchange: 'MX1.example.test.', priority: 10 }]);
    server.set('_imaps._tcp.example.test', [
      { type: 'SRV', target: 'b.example.test', port: 993, priority: 10, weight: 1 },
      { type: 'SRV', target: 'a.example.test', port: 993, priority: 0, weight: 5 },
      { type: 'SRV', target: 'c.example.test', port: 994, priority: 10, weight: 9 },
    ]);
    server.set('_imap._tcp.example.test', [{ type: 'SRV', target: '.', port: 0 }]);
    expect(await dns.mx('example.test')).toEqual([{ exchange: 'mx1.example.test', priority: 10 }, { exchange: 'mx2.example.test', priority: 20 }]);
    expect((await dns.srv('_imaps._tcp.example.test')).map((r) => `${r.target}:${r.port}`)).toEqual(['a.example.test:993', 'c.example.test:994', 'b.example.test:993']);
    expect(await dns.srv('_imap._tcp.example.test')).toEqual([{ target: '', port: 0, priority: 0, weight: 1 }]);
  });

  it('NXDOMAIN and a name without records of the type are both "nothing", for MX and SRV; for an address they are ENOTFOUND', async () => {
    server.set('empty.test', [{ type: 'A', address: '127.0.0.9' }]);
    expect(await dns.mx('nowhere.test')).toEqual([]);
    expect(await dns.mx('empty.test')).toEqual([]);
    expect(await dns.srv('_submissions._tcp.nowhere.test')).toEqual([]);
    await expect(dns.addresses('nowhere.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(await dns.addresses('empty.test')).toEqual([{ address: '127.0.0.9', family: 4 }]);
    expect(await dns.lookup!('localhost')).toEqual([{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]);
    expect(await dns.lookup!('10.1.2.3')).toEqual([{ address: '10.1.2.3', family: 4 }]);
  });

  it('a server that never answers: the query ends when the caller aborts, with its reason', async () => {
    server.set('slow.test', 'hang');
    const started = Date.now();
    const reason = new Error('gave up');
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 200);
    await expect(dns.mx('slow.test', controller.signal)).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(server.queries()).toContain('MX slow.test');
  });

  it('without servers of its own, host names go through the system (the sockets keep their default lookup)', async () => {
    const system = new Dns();
    expect(system.lookup).toBeUndefined();
    expect((await system.addresses('localhost')).length).toBeGreaterThan(0);
  });
});
