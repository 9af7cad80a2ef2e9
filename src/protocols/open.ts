// The one place that picks a protocol adapter for an account and loads it lazily (imapflow and
// nodemailer cost start-up time that commands which never connect should not pay).
import type { Account } from '../core/account.js';
import type { DebugLog } from './debug-log.js';
import type { LookupFn } from './net/socket.js';
import type { Incoming, Outgoing } from './types.js';

export interface OpenOptions {
  /** The password or OAuth access token, resolved by the caller; absent for auth none. */
  secret?: string;
  debug?: DebugLog;
  timeoutMs?: number;
  /** Resolves server names through MAILBOX_DNS_SERVERS; default: the system. */
  lookup?: LookupFn;
}

export type OpenIncoming = (account: Account, options: OpenOptions) => Promise<Incoming>;
export type OpenOutgoing = (account: Account, options: OpenOptions) => Promise<Outgoing>;

export const openIncoming: OpenIncoming = async (account, options) => {
  if (account.type === 'imap') {
    const { openImapReader } = await import('./imap/reader.js');
    return openImapReader(account, { secret: options.secret ?? '', debug: options.debug, timeoutMs: options.timeoutMs, readWrite: Boolean(account.deleteAfterDownload), lookup: options.lookup });
  }
  const { openPop3Reader } = await import('./pop3/reader.js');
  return openPop3Reader(account, { secret: options.secret ?? '', debug: options.debug, timeoutMs: options.timeoutMs, lookup: options.lookup });
};

export const openOutgoing: OpenOutgoing = async (account, options) => {
  const { openSmtpSender } = await import('./smtp/sender.js');
  return openSmtpSender(account, { secret: options.secret, debug: options.debug, timeoutMs: options.timeoutMs, lookup: options.lookup });
};

/** Starts loading the libraries these accounts will need, while the runner sets up. */
export function preloadAdapters(accounts: readonly Pick<Account, 'type'>[]): void {
  if (accounts.some((a) => a.type === 'imap')) import('imapflow').catch(() => undefined);
  if (accounts.some((a) => a.type === 'smtp')) import('nodemailer').catch(() => undefined);
}
