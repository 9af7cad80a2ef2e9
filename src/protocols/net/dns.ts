// DNS for every lookup the tool makes. By default host names go through the system (getaddrinfo:
// /etc/hosts, nsswitch) and MX/SRV queries to the system's name servers. MAILBOX_DNS_SERVERS names
// other servers (closed networks, tests): then every query, host names included, goes to them.
// Node's Resolver (c-ares) does the work; each query gets its own resolver so that it can be
// cancelled when its caller gives up (a pending query would otherwise keep the process alive).
import dns from 'node:dns';
import net from 'node:net';
import { invalid } from '../../core/errors.js';
import type { Peer } from './peer.js';
import { resolveHost, type LookupFn, type ResolvedAddress } from './socket.js';

/** Per attempt; c-ares tries each server TRIES times. */
const QUERY_TIMEOUT_MS = 1500;
const TRIES = 2;

export interface MxRecord {
  exchange: string;
  priority: number;
}

export interface SrvRecord {
  /** The target host; '' when the target is "." (RFC 2782: the service is not offered). */
  target: string;
  port: number;
  priority: number;
  weight: number;
}

/**
 * MAILBOX_DNS_SERVERS: a comma-separated list of `address[:port]` (IPv6 as `[address]:port`).
 * Names are refused: a name server given by name would need a name server to find it.
 */
export function parseDnsServers(text: string, field = 'MAILBOX_DNS_SERVERS'): string[] {
  const servers = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (servers.length === 0) throw invalid(field, text, 'a comma-separated list of name server addresses, e.g. 10.0.0.53,10.0.0.54:5353 or [fd00::53]:53');
  return servers.map((server) => {
    const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(server) ?? /^([^:]+)(?::(\d+))?$/.exec(server) ?? (net.isIPv6(server) ? [server, server] : null);
    const address = match?.[1];
    const port = match?.[2] === undefined ? 53 : Number(match[2]);
    if (!address || !net.isIP(address) || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw invalid(field, server, 'a name server address with an optional port (10.0.0.53, 10.0.0.53:5353, [fd00::53]:53); names are not accepted');
    }
    return net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
  });
}

/** An error of a query that found nothing (NXDOMAIN, or the name has no record of that type). */
export function isNoRecord(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === dns.NOTFOUND || code === dns.NODATA;
}

export class Dns {
  /** `servers`: MAILBOX_DNS_SERVERS parsed; absent: the system's resolver configuration. */
  constructor(readonly servers?: readonly string[]) {}

  private resolver(): dns.promises.Resolver {
    const resolver = new dns.promises.Resolver({ timeout: QUERY_TIMEOUT_MS, tries: TRIES });
    if (this.servers) resolver.setServers([...this.servers]);
    return resolver;
  }

  /** One query, cancelled when `signal` aborts (it then rejects with the signal's reason). */
  private async query<T>(run: (resolver: dns.promises.Resolver) => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    const resolver = this.resolver();
    const onAbort = () => resolver.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await run(resolver);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** MX records, lowest preference first; [] when the domain has none. */
  async mx(domain: string, signal?: AbortSignal): Promise<MxRecord[]> {
    const records = await this.query((r) => r.resolveMx(domain), signal).catch((err: unknown) => {
      if (isNoRecord(err)) return [];
      throw err;
    });
    return records.map((r) => ({ exchange: r.exchange.replace(/\.$/, '').toLowerCase(), priority: r.priority })).sort((a, b) => a.priority - b.priority);
  }

  /** SRV records in the order RFC 2782 tries them (priority, then weight); [] when there are none. */
  async srv(name: string, signal?: AbortSignal): Promise<SrvRecord[]> {
    const records = await this.query((r) => r.resolveSrv(name), signal).catch((err: unknown) => {
      if (isNoRecord(err)) return [];
      throw err;
    });
    return records
      .map((r) => ({ target: r.name === '.' ? '' : r.name.replace(/\.$/, '').toLowerCase(), port: r.port, priority: r.priority, weight: r.weight }))
      .sort((a, b) => a.priority - b.priority || b.weight - a.weight);
  }

  /** The addresses of `host`: A and AAAA records from the configured servers (IPv4 first), else the system's lookup. */
  async addresses(host: string, signal?: AbortSignal): Promise<ResolvedAddress[]> {
    if (net.isIP(host)) return [{ address: host, family: net.isIP(host) }];
    if (!this.servers) {
      signal?.throwIfAborted();
      // getaddrinfo cannot be cancelled; the caller stops waiting for it.
      const found = dns.promises.lookup(host, { all: true, verbatim: true });
      if (!signal) return found;
      return Promise.race([found, new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }))]);
    }
    // RFC 6761: localhost is the loopback, whatever a name server says.
    if (/^(.+\.)?localhost\.?$/i.test(host)) return [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }];
    const [v4, v6] = await Promise.allSettled([this.query((r) => r.resolve4(host), signal), this.query((r) => r.resolve6(host), signal)]);
    const found = [
      ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 })) : []),
      ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 })) : []),
    ];
    if (found.length > 0) return found;
    // Nothing: the IPv4 query's error says why (NXDOMAIN, timeout, refused), as getaddrinfo would.
    const failure = v4.status === 'rejected' ? v4.reason : v6.status === 'rejected' ? v6.reason : undefined;
    throw failure ?? Object.assign(new Error(`no address for ${host}`), { code: dns.NOTFOUND, hostname: host });
  }

  /** The lookup our sockets use with the configured servers; undefined: the system's (the sockets' default). */
  get lookup(): LookupFn | undefined {
    return this.servers ? (host) => this.addresses(host) : undefined;
  }
}

/** The lookup option of net.connect / https.request (callback style, `all` or one address) over a LookupFn. */
export function socketLookup(lookup: LookupFn): net.LookupFunction {
  return ((hostname: string, options: dns.LookupOptions, callback: (...args: unknown[]) => void) => {
    lookup(hostname).then(
      (found) => {
        const wanted = options.family === 4 || options.family === 6 ? found.filter((a) => a.family === options.family) : found;
        if (wanted.length === 0) {
          callback(Object.assign(new Error(`no address for ${hostname}`), { code: dns.NOTFOUND, hostname }));
          return;
        }
        if (options.all) callback(null, wanted);
        else callback(null, wanted[0]!.address, wanted[0]!.family);
      },
      (err: unknown) => callback(err),
    );
  }) as net.LookupFunction;
}

/**
 * Where a library (imapflow, nodemailer) connects. Both resolve host names themselves, through the
 * system; with MAILBOX_DNS_SERVERS (a `lookup`) we resolve instead and hand them the address, with
 * the host name as `servername`: both send it as SNI and check the certificate against it.
 */
export async function libraryTarget(peer: Peer, lookup: LookupFn | undefined, timeoutMs: number): Promise<{ host: string; servername?: string }> {
  const { host } = peer.account;
  if (!lookup || net.isIP(host)) return { host };
  const before = peer.stage;
  peer.stage = 'resolve';
  const [first] = await resolveHost(peer, AbortSignal.timeout(timeoutMs), lookup);
  peer.stage = before;
  return { host: first!.address, servername: host };
}
