// The CLI's OAuth 2.0 wiring: the token stores under this installation's state folder and the token
// manager that reads the profiles in effect, built once per command that logs in or authorizes.
import { credentialResolver, type Credentials } from '../jobs/credentials.js';
import { TokenManager } from '../jobs/oauth/token-manager.js';
import { openTokenStores } from '../store/tokens/index.js';
import { databaseTokenStores } from '../store/postgres/tokens.js';
import type { PostgresStores } from '../store/postgres/index.js';
import type { TokenStoreKind } from '../core/oauth.js';
import type { TokenStores } from '../store/tokens/types.js';
import type { Context } from './context.js';
import { dnsOf } from './network.js';

/** The token stores of this installation; on a database store, the database's (a fleet shares them). */
export function tokenStoresOf(ctx: Context): TokenStores {
  if (ctx.store.database) return databaseTokenStores(async () => ((await ctx.store.open()) as PostgresStores).db, ctx.env);
  return openTokenStores(ctx.paths.stateDir, ctx.env, ctx.secrets);
}

export function tokenManagerOf(ctx: Context, stores: TokenStores = tokenStoresOf(ctx)): TokenManager {
  return new TokenManager({ stores, profiles: async () => (await ctx.snapshot()).profiles, secrets: ctx.secrets, clock: ctx.now, lookup: dnsOf(ctx.env).lookup });
}

/** The one credential resolver, as the CLI wires it. */
export function credentialsOf(ctx: Context): Credentials {
  return credentialResolver({ secrets: ctx.secrets, tokens: tokenManagerOf(ctx) });
}

/**
 * An account switched to another token store takes its tokens along (written to the new store first,
 * then removed from the old). False when there were none, or the move failed (said, tokens left where they were).
 */
export async function moveTokens(ctx: Context, account: string, from: TokenStoreKind | undefined, to: TokenStoreKind | undefined): Promise<boolean> {
  const stores = tokenStoresOf(ctx);
  const [source, target] = [stores.of(from), stores.of(to)];
  if (source === target || source.kind === target.kind) return false;
  try {
    return await stores.locks.exclusive(account, async () => {
      const tokens = await source.load(account);
      if (!tokens) return false;
      await target.save(account, tokens);
      await source.remove(account);
      ctx.out.info(`account ${account}: its OAuth tokens moved to the ${target.kind === 'file' ? 'token file' : target.kind}`);
      return true;
    });
  } catch (err) {
    ctx.out.warn(`account ${account}: its OAuth tokens could not be moved to the ${target.kind === 'file' ? 'token file' : target.kind} (${(err as Error).message}); authorize it again: mailbox authorize ${account}`);
    return false;
  }
}
