// The network settings of the environment, read once at the edge: MAILBOX_DNS_SERVERS (other name
// servers for every lookup) and MAILBOX_ISPDB_URL (another ISPDB, e.g. a copy inside a closed network).
import { Dns, parseDnsServers } from '../protocols/net/dns.js';
import { invalid } from '../core/errors.js';

export function dnsOf(env: NodeJS.ProcessEnv): Dns {
  const text = env.MAILBOX_DNS_SERVERS;
  return new Dns(text && text.trim() ? parseDnsServers(text) : undefined);
}

/** MAILBOX_ISPDB_URL checked; undefined: the ISPDB's own address. */
export function ispdbUrlOf(env: NodeJS.ProcessEnv): string | undefined {
  const text = env.MAILBOX_ISPDB_URL?.trim();
  if (!text) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('MAILBOX_ISPDB_URL', text, 'an https://, http:// or file:// URL (the domain is appended)');
  }
  if (!['https:', 'http:', 'file:'].includes(url.protocol)) throw invalid('MAILBOX_ISPDB_URL', text, 'an https://, http:// or file:// URL (the domain is appended)');
  return url.href;
}
