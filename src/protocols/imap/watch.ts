// The IMAP side of push: one long-lived connection that has the account's folder open read-only
// (EXAMINE) and waits in IDLE (RFC 2177), saying when the server announces new mail (EXISTS). It
// reads nothing: the reader's own cycle does that on its own connection. IDLE watches the selected
// folder only: an account that reads several folders has the first of them watched, as LIST on this
// connection finds them now (the others are polled; all of them at once would need NOTIFY, RFC 5465).
//
// imapflow does the IDLE command (DONE to break it, NOOP, EXISTS parsing); its own auto-IDLE and
// restart timers are off (disableAutoIdle, no maxIdleTime) because imapflow's IDLE is known to go
// silent on a dead connection without saying so: the caller (jobs/watcher.ts) keeps the liveness
// itself and calls refresh() on its own clock, which fails within its deadline when the server
// does not answer.
import type { ImapFlow } from 'imapflow';
import type { Account } from '../../core/account.js';
import { folderToWatch, readsSeveral } from '../../core/imap-folders.js';
import type { DebugLog } from '../debug-log.js';
import type { LookupFn } from '../net/socket.js';
import { Peer } from '../net/peer.js';
import type { FolderWatch } from '../types.js';
import { connectImapflow, imapFailure, selectableFolders } from './imapflow.js';

export interface ImapWatchOptions {
  /** The password or OAuth access token, resolved by the caller. */
  secret: string;
  debug?: DebugLog;
  timeoutMs?: number;
  lookup?: LookupFn;
  /** New mail was announced (EXISTS grew). */
  onNewMail: () => void;
}

/** A connection watching the account's folder; null (the connection closed) when none of the folders it reads exists yet. */
export async function openImapWatch(account: Account, options: ImapWatchOptions): Promise<FolderWatch | null> {
  const peer = new Peer(account);
  // imapflow's quiet-socket timer would send a NOOP of its own and leave IDLE off after it: the
  // caller's refresh() always comes first.
  const client = await connectImapflow(account, peer, { ...options, socketTimeoutMs: 60 * 60_000 });
  let folder = account.folder ?? 'INBOX';
  try {
    if (readsSeveral(account)) {
      peer.stage = 'list';
      const first = folderToWatch(account, await selectableFolders(client));
      if (first === undefined) {
        await client.logout().catch(() => client.close());
        return null;
      }
      folder = first;
    }
    peer.stage = 'select';
    await client.mailboxOpen(folder, { readOnly: true });
  } catch (err) {
    client.close();
    throw imapFailure(err, peer, { folder, selecting: peer.stage === 'select' });
  }
  return new ImapWatch(client, peer, folder, options.onNewMail);
}

class ImapWatch implements FolderWatch {
  readonly canIdle: boolean;
  readonly closed: Promise<Error>;
  private ended: Error | undefined;

  constructor(
    private readonly client: ImapFlow,
    private readonly peer: Peer,
    readonly folder: string,
    onNewMail: () => void,
  ) {
    this.canIdle = client.capabilities.has('IDLE');
    peer.stage = 'session';
    client.on('exists', (event: { count: number; prevCount: number }) => {
      if (event.count > event.prevCount) onNewMail();
    });
    this.closed = new Promise((resolve) => {
      client.once('close', () => {
        this.ended ??= this.dropped();
        resolve(this.ended);
      });
    });
  }

  private dropped(): Error {
    const err = Object.assign(new Error('connection closed'), { code: 'EConnectionClosed' });
    return imapFailure(err, this.peer);
  }

  /** Enters IDLE; it lasts until the next refresh() or the end of the connection. */
  idle(): void {
    // idle() settles when the IDLE ends (DONE sent by a later command, or the connection gone);
    // a failure shows as the connection's close, which `closed` reports.
    this.client.idle().catch(() => undefined);
  }

  async refresh(deadlineMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer to NOOP within ${Math.round(deadlineMs / 1000)}s`), { code: 'ETIMEDOUT' })), deadlineMs);
    });
    try {
      // NOOP breaks the IDLE (imapflow sends DONE first), and its answer proves the connection lives.
      await Promise.race([this.client.noop(), late]);
    } catch (err) {
      this.ended ??= imapFailure(err, this.peer);
      this.client.close();
      throw this.ended;
    } finally {
      clearTimeout(timer);
    }
    if (this.canIdle) this.idle();
  }

  close(): void {
    this.ended ??= new Error('closed');
    this.client.close();
  }
}
