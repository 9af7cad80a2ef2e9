// The token stores of one installation: the keychain (default) and the files under the state folder,
// sharing one lock per account. Opened by the commands that log in or authorize.
import path from 'node:path';
import type { SecretStore } from '../secrets.js';
import { fileTokenStore } from './file.js';
import { keychainTokenStore } from './keychain.js';
import { fileTokenLocks } from './lock.js';
import type { TokenStores } from './types.js';

export type { StoredTokens, TokenLocks, TokenStore, TokenStores } from './types.js';

export function openTokenStores(stateDir: string, env: NodeJS.ProcessEnv, secrets: SecretStore): TokenStores {
  const dir = path.join(stateDir, 'tokens');
  const keychain = keychainTokenStore(secrets);
  const file = fileTokenStore(dir, env);
  return {
    of: (kind) => (kind === 'file' ? file : keychain),
    locks: fileTokenLocks(dir),
  };
}
