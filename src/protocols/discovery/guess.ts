// Source 6, the last resort: the usual host names of a domain on the standard ports. Only names that
// resolve become candidates; the verification then says which of them speak the protocol.
import { DEFAULT_PORTS, type AccountType } from '../../core/account.js';
import type { Source, SourceContext } from './source.js';
import type { Found } from './types.js';

const NAMES: Record<AccountType, readonly string[]> = {
  imap: ['imap', 'mail'],
  pop3: ['pop', 'pop3', 'mail'],
  smtp: ['smtp', 'mail'],
};

/** Secure choices only: a guessed server is never offered without TLS. */
const SECURITIES = ['tls', 'starttls'] as const;

export function guessSource(types: readonly AccountType[]): Source {
  return {
    name: 'guess',
    timeoutMs: 3000,
    async run(ctx: SourceContext) {
      const hosts = [...new Set(types.flatMap((t) => NAMES[t].map((n) => `${n}.${ctx.domain}`)))];
      const resolved = await Promise.allSettled(hosts.map((h) => ctx.dns.addresses(h, ctx.signal)));
      const existing = new Set(hosts.filter((_, i) => resolved[i]!.status === 'fulfilled'));
      const found: Found[] = types.flatMap((type) =>
        NAMES[type]
          .map((n) => `${n}.${ctx.domain}`)
          .filter((host) => existing.has(host))
          .flatMap((host) =>
            SECURITIES.map((security) => ({
              type,
              host,
              port: DEFAULT_PORTS[type][security],
              security,
              auth: 'password' as const,
              oauthProvider: null,
              user: ctx.address,
              source: 'guess' as const,
              origin: `guessed name ${host}, standard port`,
              warnings: [],
            })),
          ),
      );
      const detail = existing.size ? `${[...existing].join(', ')} resolve` : `none of ${hosts.join(', ')} resolves`;
      return { found, detail };
    },
  };
}
