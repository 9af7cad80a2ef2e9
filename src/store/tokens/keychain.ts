// Tokens in the OS keychain: one entry per account (service "mailbox-oauth", the account's name in
// lower case), holding the whole token set as JSON, so a rotated refresh token and its access token
// are replaced in one write. Built on the secret store's keychain access.
import { MailboxError } from '../../core/errors.js';
import type { SecretStore } from '../secrets.js';
import { parseStoredTokens } from './parse.js';
import type { StoredTokens, TokenStore } from './types.js';

export const TOKEN_SERVICE = 'mailbox-oauth';

const FILE_STORE = {
  hint: 'on a headless Linux machine, run a Secret Service such as gnome-keyring-daemon in a D-Bus session, or keep the tokens in a file under the state folder (mode 0600; encrypted when MAILBOX_TOKEN_KEY is set)',
  fixes: [{ field: 'tokenStore', value: 'file' }],
};

/** The keychain's failure, worded for tokens: the other place they can live. */
function unavailable(err: unknown, account: string | undefined): MailboxError {
  const e = err as MailboxError;
  const what = account ? `account ${account}: ` : '';
  return new MailboxError('EKEYCHAIN', `${what}${e.message} (it keeps the OAuth tokens)`, { ...FILE_STORE, account, cause: err });
}

export function keychainTokenStore(secrets: Pick<SecretStore, 'resolve' | 'save' | 'remove' | 'probeKeychain'>): TokenStore {
  const ref = (account: string) => ({ kind: 'keychain' as const, service: TOKEN_SERVICE, key: account.toLowerCase() });
  return {
    kind: 'keychain',
    async load(account) {
      let text: string;
      try {
        text = await secrets.resolve(ref(account), account);
      } catch (err) {
        if (err instanceof MailboxError && err.code === 'ESECRET') return undefined;
        throw unavailable(err, account);
      }
      return parseStoredTokens(text, `the keychain entry ${TOKEN_SERVICE}/${account.toLowerCase()}`, account);
    },
    async save(account, tokens: StoredTokens) {
      await secrets.save(ref(account), JSON.stringify(tokens)).catch((err) => {
        throw unavailable(err, account);
      });
    },
    async remove(account) {
      const had = (await this.load(account)) !== undefined;
      if (had) await secrets.remove(ref(account)).catch((err) => Promise.reject(unavailable(err, account)));
      return had;
    },
    async check() {
      const down = await secrets.probeKeychain();
      return down ? unavailable(down, undefined) : undefined;
    },
  };
}
