// Tokens in files: one per account under the state folder (state/tokens/NAME.json), mode 0600, each
// write atomic. With MAILBOX_TOKEN_KEY set the content is sealed with AES-256-GCM; without it the
// file is plain JSON protected by its mode alone. Chosen explicitly per account (--token-store file),
// never as a silent fallback from the keychain.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { MailboxError } from '../../core/errors.js';
import { ioError, readText, writeAtomic } from '../local/files.js';
import { parseStoredTokens } from './parse.js';
import { keyProblem, seal, TOKEN_KEY_VARIABLE, tokenKey, unseal, type Sealed } from './token-key.js';
import type { StoredTokens, TokenStore } from './types.js';

export function tokenFile(dir: string, account: string): string {
  return path.join(dir, `${encodeURIComponent(account.toLowerCase())}.json`);
}

export function fileTokenStore(dir: string, env: NodeJS.ProcessEnv): TokenStore {
  return {
    kind: 'file',
    async load(account) {
      const file = tokenFile(dir, account);
      const text = await readText(file);
      if (text === undefined) return undefined;
      let outer: Partial<Sealed> & { tokens?: unknown };
      try {
        outer = JSON.parse(text) as typeof outer;
      } catch {
        return parseStoredTokens(text, file, account); // reports it as unreadable
      }
      if (outer.alg !== 'A256GCM') return parseStoredTokens(JSON.stringify(outer.tokens ?? outer), file, account);
      const key = tokenKey(env);
      if (!key) {
        throw new MailboxError('ECONFIG', `account ${account}: the tokens in ${file} are encrypted, and ${TOKEN_KEY_VARIABLE} is not set`, {
          account,
          hint: `set ${TOKEN_KEY_VARIABLE} to the key they were written with`,
        });
      }
      const plain = unseal(key, account, outer as Sealed);
      if (plain === undefined) {
        throw new MailboxError('ECONFIG', `account ${account}: the tokens in ${file} cannot be decrypted with this ${TOKEN_KEY_VARIABLE} (another key, or a file of another account)`, {
          account,
          hint: `set ${TOKEN_KEY_VARIABLE} to the key they were written with, or authorize the account again: mailbox authorize ${account}`,
        });
      }
      return parseStoredTokens(plain, file, account);
    },
    async save(account, tokens: StoredTokens) {
      const key = tokenKey(env);
      const plain = JSON.stringify(tokens);
      await writeAtomic(tokenFile(dir, account), `${JSON.stringify(key ? seal(key, account, plain) : { v: 1, tokens })}\n`);
    },
    async remove(account) {
      const file = tokenFile(dir, account);
      const had = (await readText(file)) !== undefined;
      await rm(file, { force: true }).catch((err) => Promise.reject(ioError('remove', file, err)));
      return had;
    },
    async check() {
      return keyProblem(() => tokenKey(env));
    },
  };
}
