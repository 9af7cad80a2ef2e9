// Sources 2 and 3: the domain's own autoconfig document (https at autoconfig.DOMAIN, then the
// domain's .well-known; plain http only when neither https server exists) and Thunderbird's ISPDB.
import { parseAutoconfig } from './autoconfig-xml.js';
import { FetchFailure, fetchDocument } from './http.js';
import type { Source, SourceContext } from './source.js';
import type { Found, SourceName } from './types.js';

export const DEFAULT_ISPDB_URL = 'https://autoconfig.thunderbird.net/v1.1/';

const PLAIN_HTTP_WARNING = 'read over plain http: anyone on the path could have changed it; check these servers before you trust them';

interface ConfigRead {
  found: Found[];
  detail: string;
}

/** The servers of the document at `url`, as found servers of `source`. */
async function readConfig(url: string, ctx: SourceContext, source: SourceName, origin = url): Promise<ConfigRead> {
  const fetched = await fetchDocument(url, { signal: ctx.signal, lookup: ctx.lookup });
  const { servers, skipped } = await parseAutoconfig(fetched.body, ctx.address).catch((err: unknown) => {
    throw new FetchFailure('http', `${fetched.url}: ${(err as Error).message}`);
  });
  if (servers.length === 0) throw new FetchFailure('not-found', `${fetched.url}: no server mailbox can use${skipped.length ? ` (${skipped.join('; ')})` : ''}`);
  const plain = fetched.insecure;
  const shown = fetched.url === url ? origin : `${origin} (redirected to ${fetched.url})`;
  const found = servers.map((s) => ({ ...s, source: plain && source === 'autoconfig' ? ('autoconfig-http' as const) : source, origin: shown, warnings: plain ? [PLAIN_HTTP_WARNING] : [] }));
  return { found, detail: `${shown}: ${servers.length} server${servers.length === 1 ? '' : 's'}${skipped.length ? `; skipped ${skipped.join('; ')}` : ''}${plain ? ' (plain http)' : ''}` };
}

/** The first of `urls` (tried at once, taken in order) that gives servers; else every failure. */
async function firstConfig(urls: string[], ctx: SourceContext, source: SourceName): Promise<ConfigRead | FetchFailure[]> {
  const settled = await Promise.allSettled(urls.map((url) => readConfig(url, ctx, source)));
  const hit = settled.find((s) => s.status === 'fulfilled');
  if (hit) return (hit as PromiseFulfilledResult<ConfigRead>).value;
  return settled.map((s) => {
    const reason = (s as PromiseRejectedResult).reason as unknown;
    return reason instanceof FetchFailure ? reason : new FetchFailure('unreachable', (reason as Error).message);
  });
}

export const autoconfigSource: Source = {
  name: 'autoconfig',
  timeoutMs: 5000,
  async run(ctx) {
    const query = `?emailaddress=${encodeURIComponent(ctx.address)}`;
    const paths = [`autoconfig.${ctx.domain}/mail/config-v1.1.xml`, `${ctx.domain}/.well-known/autoconfig/mail/config-v1.1.xml`];
    const secure = await firstConfig([`https://${paths[0]}${query}`, `https://${paths[1]}`], ctx, 'autoconfig');
    if (!Array.isArray(secure)) return secure;
    // A server that answered https with a certificate we cannot trust, or tried to leave https, is
    // a warning sign: falling back to plain http then would hand the choice to whoever is on the path.
    const refused = secure.filter((f) => f.kind === 'tls' || f.kind === 'redirect');
    if (refused.length > 0) throw new Error(`${secure.map((f) => f.message).join('; ')}; plain http not tried after an https failure of that kind`);
    if (ctx.signal.aborted) throw ctx.signal.reason;
    // Plain http only from hosts that exist (a name that does not resolve has no http either), and
    // without the address: it would cross the network in clear text.
    const hosts = paths.filter((_, i) => secure[i]!.kind !== 'no-host');
    if (hosts.length === 0) return { found: [], detail: secure.map((f) => f.message).join('; ') };
    const plain = await firstConfig(hosts.map((p) => `http://${p}`), ctx, 'autoconfig');
    if (!Array.isArray(plain)) return plain;
    return { found: [], detail: [...secure, ...plain].map((f) => f.message).join('; ') };
  },
};

/** The ISPDB's URL for a domain. */
export function ispdbUrlOf(base: string, domain: string): string {
  return `${base.endsWith('/') ? base : `${base}/`}${encodeURIComponent(domain)}`;
}

/** The ISPDB entry of `domain` as found servers of `source`, or undefined when it has none. */
export async function readIspdb(domain: string, ctx: SourceContext, source: SourceName, origin?: string): Promise<ConfigRead | undefined> {
  const url = ispdbUrlOf(ctx.ispdbUrl, domain);
  try {
    return await readConfig(url, ctx, source, origin ?? `ISPDB ${url}`);
  } catch (err) {
    if (err instanceof FetchFailure && err.kind === 'not-found') return undefined;
    throw err;
  }
}

export const ispdbSource: Source = {
  name: 'ispdb',
  timeoutMs: 5000,
  async run(ctx) {
    const read = await readIspdb(ctx.domain, ctx, 'ispdb');
    return read ?? { found: [], detail: `no entry for ${ctx.domain} at ${ispdbUrlOf(ctx.ispdbUrl, ctx.domain)}` };
  },
};
