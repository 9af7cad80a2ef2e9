// OAuth 2.0 tokens on the database store (a fleet shares them): sealed with MAILBOX_TOKEN_KEY in the
// format of the token files (token-key.ts), which is required here (78 naming it when it is missing),
// and refreshed under a row lock: exclusive() holds the account's token_locks row FOR UPDATE on a
// connection of its own while the refresh reads, asks the provider and stores, so a second worker
// waits and then finds the new tokens instead of spending the same refresh token.
// No runtime import of the driver here: the CLI wires this in for every command that logs in.
import { MailboxError } from '../../core/errors.js';
import { parseStoredTokens } from '../tokens/parse.js';
import { keyProblem, seal, TOKEN_KEY_VARIABLE, tokenKey, unseal, type Sealed } from '../tokens/token-key.js';
import type { TokenStore, TokenStores } from '../tokens/types.js';
import type { Database } from './connection.js';

/** The schema (schema.ts's SCHEMA, written out so that this module loads without the driver). */
const T = 'mailbox';

function keyOf(env: NodeJS.ProcessEnv): Buffer {
  const key = tokenKey(env);
  if (key) return key;
  throw new MailboxError('ECONFIG', `${TOKEN_KEY_VARIABLE} is not set: on a database store OAuth tokens are kept in the database, encrypted with it`, {
    hint: `make one with: openssl rand -base64 32, and give the same ${TOKEN_KEY_VARIABLE} to every machine that uses the database`,
  });
}

export function databaseTokenStores(database: () => Promise<Database>, env: NodeJS.ProcessEnv): TokenStores {
  const store: TokenStore = {
    kind: 'database',
    async load(account) {
      const key = keyOf(env);
      const db = await database();
      const { rows } = await db.query<{ sealed: Sealed }>(`SELECT sealed FROM ${T}.oauth_tokens WHERE account_key = $1`, [account.toLowerCase()]);
      if (!rows[0]) return undefined;
      const plain = unseal(key, account, rows[0].sealed);
      if (plain === undefined) {
        throw new MailboxError('ECONFIG', `account ${account}: its tokens in database ${db.name.shown} cannot be decrypted with this ${TOKEN_KEY_VARIABLE} (another key)`, {
          account,
          hint: `set ${TOKEN_KEY_VARIABLE} to the key the other machines use, or authorize the account again: mailbox authorize ${account}`,
        });
      }
      return parseStoredTokens(plain, `database ${db.name.shown}`, account);
    },
    async save(account, tokens) {
      const sealed = seal(keyOf(env), account, JSON.stringify(tokens));
      await (await database()).query(
        `INSERT INTO ${T}.oauth_tokens (account_key, sealed) VALUES ($1, $2::jsonb)
         ON CONFLICT (account_key) DO UPDATE SET sealed = EXCLUDED.sealed, updated_at = now()`,
        [account.toLowerCase(), JSON.stringify(sealed)],
      );
    },
    async remove(account) {
      const { rowCount } = await (await database()).query(`DELETE FROM ${T}.oauth_tokens WHERE account_key = $1`, [account.toLowerCase()]);
      return (rowCount ?? 0) > 0;
    },
    async check() {
      return keyProblem(() => keyOf(env));
    },
  };
  return {
    // Whatever the account's token store says: in a fleet the tokens must be where every worker finds them.
    of: () => store,
    locks: {
      async exclusive(account, body) {
        const db = await database();
        const client = await db.connect();
        const key = account.toLowerCase();
        let broken: Error | undefined;
        try {
          await client.query('BEGIN');
          await client.query(`INSERT INTO ${T}.token_locks (account_key) VALUES ($1) ON CONFLICT DO NOTHING`, [key]);
          await client.query(`SELECT 1 FROM ${T}.token_locks WHERE account_key = $1 FOR UPDATE`, [key]);
        } catch (err) {
          broken = err as Error;
          throw new MailboxError('ETEMPFAIL', `account ${account}: the refresh lock in database ${db.name.shown} could not be taken: ${broken.message}`, { account, hint: 'try again', cause: err });
        } finally {
          if (broken) client.release(broken);
        }
        try {
          return await body();
        } finally {
          // The lock goes with the transaction; nothing else was written in it.
          await client.query('COMMIT').catch((err: Error) => (broken = err));
          client.release(broken);
        }
      },
    },
  };
}
