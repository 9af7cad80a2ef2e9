// The CLI's OAuth 2.0 wiring: the token stores under this installation's state folder and the token
// manager that reads the profiles in effect, built once per command that logs in or authorizes.
import { credentialResolver, type Credentials } from '../jobs/credentials.js';
import { TokenManager } from '../jobs/oauth/token-manager.js';
import { openTokenStores } from '../store/tokens/index.js';
import type { TokenStores } from '../store/tokens/types.js';
import type { Context } from './context.js';

export function tokenStoresOf(ctx: Context): TokenStores {
  return openTokenStores(ctx.paths.stateDir, ctx.env, ctx.secrets);
}

export function tokenManagerOf(ctx: Context, stores: TokenStores = tokenStoresOf(ctx)): TokenManager {
  return new TokenManager({ stores, profiles: async () => (await ctx.snapshot()).profiles, secrets: ctx.secrets, clock: ctx.now });
}

/** The one credential resolver, as the CLI wires it. */
export function credentialsOf(ctx: Context): Credentials {
  return credentialResolver({ secrets: ctx.secrets, tokens: tokenManagerOf(ctx) });
}
