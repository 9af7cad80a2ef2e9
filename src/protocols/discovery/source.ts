// What every source gets and gives: the address, the network (DNS, the ISPDB's base URL), its own
// deadline; the servers it found and one line on what it saw.
import type { Dns } from '../net/dns.js';
import type { LookupFn } from '../net/socket.js';
import type { Found, SourceName } from './types.js';

export interface SourceContext {
  address: string;
  domain: string;
  dns: Dns;
  /** Host names of HTTP fetches resolve through this (MAILBOX_DNS_SERVERS); absent: the system's. */
  lookup?: LookupFn;
  /** The ISPDB's base URL; the domain is appended. */
  ispdbUrl: string;
  /** This source's deadline (its own timeout, the whole discovery's, or the answer being complete). */
  signal: AbortSignal;
}

export interface SourceAnswer {
  found: Found[];
  /** What the source saw, for the report (the URL it read, the records, why nothing). */
  detail: string;
}

export interface Source {
  name: SourceName;
  /** Its own time limit, shorter than the whole discovery's. */
  timeoutMs: number;
  run(ctx: SourceContext): Promise<SourceAnswer>;
}
