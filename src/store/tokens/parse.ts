// Reading a stored token set back: what the store holds is checked like any other input, and a
// broken one is reported without echoing it (it holds secrets).
import { MailboxError } from '../../core/errors.js';
import { OAUTH_FLOWS } from '../../core/oauth.js';
import type { StoredTokens } from './types.js';

function broken(where: string, account: string, why: string): MailboxError {
  return new MailboxError('ECONFIG', `account ${account}: ${where} does not hold OAuth tokens mailbox can read (${why})`, {
    account,
    hint: `authorize the account again: mailbox authorize ${account}`,
  });
}

const optionalString = (v: unknown) => v === undefined || typeof v === 'string';

export function parseStoredTokens(text: string, where: string, account: string): StoredTokens {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw broken(where, account, 'not JSON');
  }
  if (!raw || typeof raw !== 'object') throw broken(where, account, 'not an object');
  if (!OAUTH_FLOWS.includes(raw.flow as never)) throw broken(where, account, 'no flow');
  if (typeof raw.profile !== 'string' || typeof raw.clientId !== 'string') throw broken(where, account, 'no profile or client id');
  if (!['refreshToken', 'accessToken', 'scope'].every((k) => optionalString(raw[k]))) throw broken(where, account, 'a token is not text');
  if (raw.expiresAt !== undefined && typeof raw.expiresAt !== 'number') throw broken(where, account, 'expiresAt is not a number');
  return raw as unknown as StoredTokens;
}
