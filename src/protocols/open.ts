// The one place that picks a protocol adapter for an account and loads it lazily (imapflow and
// nodemailer cost start-up time that commands which never connect should not pay), and the adapter
// boundary: whatever an adapter (or the library under it) throws or answers leaves here with every
// form of the account's secret redacted (redaction.ts), so no adapter can forget it.
import type { Account } from '../core/account.js';
import type { DebugLog } from './debug-log.js';
import type { LookupFn } from './net/socket.js';
import { scrubbing, scrubDeep, secretScrubber, type Scrub } from './redaction.js';
import type { FolderWatch, Incoming, Outgoing } from './types.js';

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
/** Push: the IMAP account's folder watched in IDLE; `onNewMail` when the server announces new mail. */
/**
 * Resolves null when there is nothing to watch yet: the account reads several folders and none of
 * them exists on the server (the connection is closed again).
 */
export type OpenWatch = (account: Account, options: OpenOptions & { onNewMail: () => void }) => Promise<FolderWatch | null>;

/** An Incoming whose every failure is redacted. */
function redactedIncoming(incoming: Incoming, scrub: Scrub): Incoming {
  return {
    protocol: incoming.protocol,
    status: () => scrubbing(scrub, () => incoming.status()),
    list: (fromUid, sizeAbove) => scrubbing(scrub, () => incoming.list(fromUid, sizeAbove)),
    headers: (messages) => scrubbing(scrub, () => incoming.headers(messages)),
    fetch: (messages, onMessage) => scrubbing(scrub, () => incoming.fetch(messages, onMessage)),
    remove: (messages) => scrubbing(scrub, () => incoming.remove(messages)),
    ...(incoming.folders ? { folders: () => scrubbing(scrub, () => incoming.folders!()) } : {}),
    ...(incoming.inFolder ? { inFolder: (folder: string) => redactedIncoming(incoming.inFolder!(folder), scrub) } : {}),
    close: () => scrubbing(scrub, () => incoming.close()),
    abort: () => incoming.abort(),
  };
}

/** An Outgoing whose failures, and the server's replies it hands back, are redacted. */
function redactedOutgoing(outgoing: Outgoing, scrub: Scrub): Outgoing {
  return {
    send: (message, envelope) => scrubbing(scrub, async () => scrubDeep(await outgoing.send(message, envelope), scrub)),
    classify: (err) => scrubDeep(outgoing.classify(scrubDeep(err, scrub)), scrub),
    close: () => scrubbing(scrub, () => outgoing.close()),
    abort: () => outgoing.abort(),
  };
}

export const openIncoming: OpenIncoming = (account, options) => {
  const scrub = secretScrubber([options.secret], account.user);
  return scrubbing(scrub, async () => {
    const secret = options.secret ?? '';
    if (account.type === 'imap') {
      const { openImapReader } = await import('./imap/reader.js');
      return redactedIncoming(await openImapReader(account, { secret, debug: options.debug, timeoutMs: options.timeoutMs, readWrite: Boolean(account.deleteAfterDownload), lookup: options.lookup }), scrub);
    }
    const { openPop3Reader } = await import('./pop3/reader.js');
    return redactedIncoming(await openPop3Reader(account, { secret, debug: options.debug, timeoutMs: options.timeoutMs, lookup: options.lookup }), scrub);
  });
};

/** A FolderWatch whose every failure is redacted. */
function redactedWatch(watch: FolderWatch, scrub: Scrub): FolderWatch {
  return {
    folder: watch.folder,
    canIdle: watch.canIdle,
    idle: () => watch.idle(),
    refresh: (deadlineMs) => scrubbing(scrub, () => watch.refresh(deadlineMs)),
    closed: watch.closed.then((err) => scrubDeep(err, scrub)),
    close: () => watch.close(),
  };
}

export const openWatch: OpenWatch = (account, options) => {
  const scrub = secretScrubber([options.secret], account.user);
  return scrubbing(scrub, async () => {
    const { openImapWatch } = await import('./imap/watch.js');
    const watch = await openImapWatch(account, { ...options, secret: options.secret ?? '' });
    return watch && redactedWatch(watch, scrub);
  });
};

export const openOutgoing: OpenOutgoing = (account, options) => {
  const scrub = secretScrubber([options.secret], account.user);
  return scrubbing(scrub, async () => {
    const { openSmtpSender } = await import('./smtp/sender.js');
    return redactedOutgoing(await openSmtpSender(account, { secret: options.secret, debug: options.debug, timeoutMs: options.timeoutMs, lookup: options.lookup }), scrub);
  });
};

/** Starts loading the libraries these accounts will need, while the runner sets up. */
export function preloadAdapters(accounts: readonly Pick<Account, 'type'>[]): void {
  if (accounts.some((a) => a.type === 'imap')) import('imapflow').catch(() => undefined);
  if (accounts.some((a) => a.type === 'smtp')) import('nodemailer').catch(() => undefined);
}
