// Where an OAuth 2.0 account's tokens live, behind one interface: the OS keychain (the default), a
// 0600 file per account under the state folder (headless servers, chosen explicitly), and the
// database of a fleet (store/postgres/tokens.ts: encrypted with MAILBOX_TOKEN_KEY, refreshed under a row lock).
import type { MailboxError } from '../../core/errors.js';
import type { OAuthFlow, TokenStoreKind } from '../../core/oauth.js';

/** What is kept per account. Every field is a secret except the bookkeeping ones. */
export interface StoredTokens {
  /** The grant that made them: client credentials are obtained again instead of refreshed. */
  flow: OAuthFlow;
  /** The profile and client they belong to: tokens of another client are never sent. */
  profile: string;
  clientId: string;
  refreshToken?: string;
  accessToken?: string;
  /** When the access token expires, ms since the epoch; absent when the server did not say. */
  expiresAt?: number;
  /** The scopes granted, space-separated, as the server said. */
  scope?: string;
  /** When they were last obtained or refreshed, ms since the epoch. */
  updatedAt: number;
}

export interface TokenStore {
  /** 'database': the database store's, whatever the account chose (a fleet shares its tokens). */
  readonly kind: TokenStoreKind | 'database';
  /** The account's tokens, or undefined when none are kept. */
  load(account: string): Promise<StoredTokens | undefined>;
  /** Replaces the account's tokens in one write: a new refresh token and its access token together. */
  save(account: string, tokens: StoredTokens): Promise<void>;
  /** Forgets the account's tokens; false when there were none. */
  remove(account: string): Promise<boolean>;
  /** Undefined when the store can keep tokens now, else the error a save would throw. */
  check(): Promise<MailboxError | undefined>;
}

/** One refresh at a time per account, across processes. */
export interface TokenLocks {
  exclusive<T>(account: string, body: () => Promise<T>): Promise<T>;
}

/** The token stores of one installation, by the account's choice, and the locks they share. */
export interface TokenStores {
  of(kind: TokenStoreKind | undefined): TokenStore;
  locks: TokenLocks;
}
