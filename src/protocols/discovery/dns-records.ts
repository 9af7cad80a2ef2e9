// Sources 4 and 5, from DNS: the MX records (a known provider's MX maps to its preset, another MX's
// domain is looked up in the ISPDB) and the RFC 6186 / RFC 8314 SRV records.
import type { AccountType, Security } from '../../core/account.js';
import { isUnder, providerOfMx } from '../../core/providers.js';
import { readIspdb } from './autoconfig.js';
import { presetServers } from './presets.js';
import type { Source, SourceContext } from './source.js';
import type { Found } from './types.js';

/** The domains an MX host may be filed under in the ISPDB: its parent names, longest first (at most 3, two labels at least). */
function mxDomains(exchange: string, addressDomain: string): string[] {
  const labels = exchange.split('.');
  const names: string[] = [];
  for (let i = 1; i <= labels.length - 2 && names.length < 3; i++) names.push(labels.slice(i).join('.'));
  // The address's own domain is the ISPDB source's question already.
  return names.filter((n) => n !== addressDomain);
}

async function mxFromIspdb(exchange: string, ctx: SourceContext): Promise<{ found: Found[]; detail: string } | undefined> {
  const domains = mxDomains(exchange, ctx.domain);
  const reads = await Promise.allSettled(domains.map((d) => readIspdb(d, ctx, 'mx', `MX ${exchange} -> ISPDB ${d}`)));
  for (const read of reads) if (read.status === 'fulfilled' && read.value) return read.value;
  const failed = reads.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as Error).message);
  if (failed.length > 0 && failed.length === reads.length) throw new Error(`MX ${exchange}: the ISPDB could not be read: ${failed.join('; ')}`);
  return undefined;
}

export const mxSource: Source = {
  name: 'mx',
  timeoutMs: 5000,
  async run(ctx) {
    const records = await ctx.dns.mx(ctx.domain, ctx.signal);
    // RFC 7505: a single MX "." says the domain accepts no mail.
    const hosts = records.map((r) => r.exchange).filter((h) => h !== '' && h !== '.');
    if (hosts.length === 0) return { found: [], detail: records.length ? `${ctx.domain} accepts no mail (null MX)` : `no MX records for ${ctx.domain}` };
    for (const exchange of hosts) {
      const provider = providerOfMx(exchange);
      if (provider) {
        const origin = `MX ${exchange} -> ${provider.name}`;
        return { found: presetServers(provider, ctx.address, 'mx', origin), detail: origin };
      }
    }
    const first = hosts[0]!;
    const read = await mxFromIspdb(first, ctx);
    return read ?? { found: [], detail: `MX ${hosts.join(', ')}: no provider mailbox knows, and no ISPDB entry for ${mxDomains(first, ctx.domain).join(', ') || first}` };
  },
};

/** RFC 6186 (and RFC 8314 for _submissions): each service, its type and security. */
const SERVICES: readonly { service: string; type: AccountType; security: Security }[] = [
  { service: '_submissions', type: 'smtp', security: 'tls' },
  { service: '_submission', type: 'smtp', security: 'starttls' },
  { service: '_imaps', type: 'imap', security: 'tls' },
  { service: '_imap', type: 'imap', security: 'starttls' },
  { service: '_pop3s', type: 'pop3', security: 'tls' },
  { service: '_pop3', type: 'pop3', security: 'starttls' },
];

export const srvSource: Source = {
  name: 'srv',
  timeoutMs: 4000,
  async run(ctx) {
    const answers = await Promise.allSettled(SERVICES.map((s) => ctx.dns.srv(`${s.service}._tcp.${ctx.domain}`, ctx.signal)));
    const found: Found[] = [];
    const seen: string[] = [];
    const failures: string[] = [];
    answers.forEach((answer, i) => {
      const { service, type, security } = SERVICES[i]!;
      const name = `${service}._tcp.${ctx.domain}`;
      if (answer.status === 'rejected') {
        failures.push(`${name}: ${(answer.reason as Error).message}`);
        return;
      }
      if (answer.value.length === 0) return;
      // RFC 2782: a single target "." says the service is decidedly not offered.
      if (answer.value.every((r) => r.target === '')) {
        seen.push(`${name}: not offered (target .)`);
        return;
      }
      for (const r of answer.value.filter((r) => r.target !== '')) {
        const warnings = isUnder(r.target, ctx.domain) ? [] : [`${r.target} is outside ${ctx.domain} (from an SRV record, which DNS does not authenticate here): check it is your provider's`];
        found.push({ type, host: r.target, port: r.port, security, auth: 'password', oauthProvider: null, user: ctx.address, source: 'srv', origin: `SRV ${name}`, warnings });
        seen.push(`${name}: ${r.target}:${r.port}`);
      }
    });
    if (found.length === 0 && failures.length === SERVICES.length) throw new Error(failures.join('; '));
    const detail = [...seen, ...failures].join('; ') || `no SRV records for ${ctx.domain}`;
    return { found, detail };
  },
};
