// Source 1, the built-in presets: the big providers by the address's domain.
import { providerOfDomain, userOf, type Provider } from '../../core/providers.js';
import type { Source } from './source.js';
import type { Found, SourceName } from './types.js';

/** A provider's servers as found servers of `source`. */
export function presetServers(provider: Provider, address: string, source: SourceName, origin: string): Found[] {
  return provider.servers.map((s) => ({
    type: s.type,
    host: s.host,
    port: s.port,
    security: s.security,
    auth: provider.auth,
    oauthProvider: provider.auth === 'oauth2' ? (provider.oauthProvider ?? null) : null,
    user: userOf(address, s.user),
    source,
    origin,
    warnings: provider.note ? [`${provider.name}: ${provider.note}`] : [],
  }));
}

export const presetSource: Source = {
  name: 'preset',
  timeoutMs: 1000,
  async run(ctx) {
    const provider = providerOfDomain(ctx.domain);
    if (!provider) return { found: [], detail: `${ctx.domain} is not a domain of a provider mailbox knows` };
    return { found: presetServers(provider, ctx.address, 'preset', `preset ${provider.name}`), detail: `${ctx.domain} is ${provider.name}` };
  },
};
