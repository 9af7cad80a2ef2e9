// MAILBOX_TOKEN_KEY: the key that encrypts token files (AES-256-GCM). 32 random bytes, written as
// base64 or hex (`openssl rand -base64 32`); anything else is refused rather than stretched, so a
// weak passphrase never passes for a key.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { MailboxError } from '../../core/errors.js';

export const TOKEN_KEY_VARIABLE = 'MAILBOX_TOKEN_KEY';

export interface Sealed {
  v: 1;
  alg: 'A256GCM';
  iv: string;
  tag: string;
  data: string;
}

/** The key from the environment, or undefined when the variable is not set. */
export function tokenKey(env: NodeJS.ProcessEnv): Buffer | undefined {
  const text = env[TOKEN_KEY_VARIABLE]?.trim();
  if (!text) return undefined;
  const key = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(text) ? Buffer.from(text, 'base64') : undefined;
  if (key?.length !== 32) {
    throw new MailboxError('ECONFIG', `${TOKEN_KEY_VARIABLE} is not a key: expected 32 random bytes as base64 (44 characters) or hex (64 characters)`, {
      hint: `make one with: openssl rand -base64 32 (keep it where the service's environment comes from, not beside the token files)`,
    });
  }
  return key;
}

/** What is wrong with the key a token store needs (`read` throws it), for the store's check(); undefined: nothing. */
export function keyProblem(read: () => unknown): MailboxError | undefined {
  try {
    read();
    return undefined;
  } catch (err) {
    return err as MailboxError;
  }
}

/** The account is bound in: a file copied to another account's name does not decrypt. */
function aad(account: string): Buffer {
  return Buffer.from(`mailbox-tokens:v1:${account.toLowerCase()}`, 'utf8');
}

export function seal(key: Buffer, account: string, plain: string): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad(account));
  const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return { v: 1, alg: 'A256GCM', iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

/** The plain text, or undefined when the key (or the account) is not the one it was sealed with. */
export function unseal(key: Buffer, account: string, sealed: Sealed): string | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64')).setAAD(aad(account));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
