// The IMAP side of Incoming, on imapflow (loaded lazily). Ids are UIDVALIDITY/UID. An idle poll is
// STATUS (UIDNEXT UIDVALIDITY MESSAGES): constant round trips whatever the folder size. New mail is
// listed with one UID FETCH of sizes and fetched in ranges: one UID FETCH (BODY.PEEK[]) per run of
// small messages. imapflow buffers each literal whole, so messages above LARGE_MESSAGE are streamed
// with download() in partial chunks instead, keeping memory flat for a message of any size.
import type { ImapFlow } from 'imapflow';
import type { Account } from '../../core/account.js';
import { imapSourceId } from '../../core/imap-folders.js';
import type { DebugLog } from '../debug-log.js';
import type { LookupFn } from '../net/socket.js';
import { Peer, type Stage } from '../net/peer.js';
import type { Incoming, IncomingStatus, MessageBody, RemoteMessage } from '../types.js';
import { folderMissing } from './folders.js';
import { connectImapflow, imapFailure, selectableFolders } from './imapflow.js';

const LARGE_MESSAGE = 4 * 1024 * 1024;
const DOWNLOAD_CHUNK = 1024 * 1024;
/** What headers() asks for: enough to say what a message is. */
const HEADER_FIELDS = ['from', 'subject', 'date', 'message-id'];

export interface ImapReaderOptions {
  /** The password or OAuth access token, resolved by the caller. */
  secret: string;
  /** Open the folder read-write (needed to delete); otherwise EXAMINE, which changes nothing. */
  readWrite: boolean;
  debug?: DebugLog;
  timeoutMs?: number;
  /** Resolves the server's name (MAILBOX_DNS_SERVERS); default: imapflow resolves it through the system. */
  lookup?: LookupFn;
}

/** "1:5,7,9:12" from ascending UIDs. */
function uidSet(uids: readonly number[]): string {
  const parts: string[] = [];
  let start = uids[0];
  let prev = start;
  for (let i = 1; i <= uids.length; i++) {
    const uid = uids[i];
    if (uid !== undefined && prev !== undefined && uid === prev + 1) {
      prev = uid;
      continue;
    }
    if (start !== undefined) parts.push(start === prev ? `${start}` : `${start}:${prev}`);
    start = uid;
    prev = uid;
  }
  return parts.join(',');
}

/** Runs of consecutive small messages (one FETCH each) and single large ones (streamed), in order. */
function fetchPlan(messages: readonly RemoteMessage[], large = LARGE_MESSAGE): Array<{ large: boolean; messages: RemoteMessage[] }> {
  const plan: Array<{ large: boolean; messages: RemoteMessage[] }> = [];
  for (const m of messages) {
    const isLarge = m.size > large;
    const last = plan[plan.length - 1];
    if (!isLarge && last && !last.large) last.messages.push(m);
    else plan.push({ large: isLarge, messages: [m] });
  }
  return plan;
}

export async function openImapReader(account: Account, options: ImapReaderOptions): Promise<Incoming> {
  const peer = new Peer(account);
  const client = await connectImapflow(account, peer, options);
  const own = account.folder ?? 'INBOX';
  return new ImapFolderReader(client, peer, own, options.readWrite, own);
}

/** One folder of a logged-in imapflow client, as Incoming. */
class ImapFolderReader implements Incoming {
  readonly protocol = 'imap';
  private selected = false;

  constructor(
    private readonly client: ImapFlow,
    private readonly peer: Peer,
    private readonly folder: string,
    private readonly readWrite: boolean,
    /** The account's own folder: its source ids keep the form they always had. */
    private readonly own: string,
    /** A view on another folder of the session: close() leaves the session to its owner. */
    private readonly view = false,
  ) {}

  /** The folder selected last, shared by every view of the session. */
  private static selectedIn = new WeakMap<ImapFlow, string>();

  private failure(err: unknown, operation: Stage): Error {
    this.peer.stage = operation;
    return imapFailure(err, this.peer, { folder: this.folder, selecting: operation === 'select' });
  }

  private async select(): Promise<void> {
    if (this.selected && ImapFolderReader.selectedIn.get(this.client) === this.folder) return;
    try {
      await this.client.mailboxOpen(this.folder, { readOnly: !this.readWrite });
      ImapFolderReader.selectedIn.set(this.client, this.folder);
      this.selected = true;
    } catch (err) {
      throw this.failure(err, 'select');
    }
  }

  private keyOf(uid: number): string {
    const mailbox = this.client.mailbox;
    return imapSourceId(Number(mailbox && typeof mailbox === 'object' ? mailbox.uidValidity : 0), uid, this.folder, this.own);
  }

  async folders(): Promise<Array<{ name: string; delimiter: string }>> {
    try {
      return await selectableFolders(this.client);
    } catch (err) {
      throw this.failure(err, 'list');
    }
  }

  inFolder(folder: string): Incoming {
    return new ImapFolderReader(this.client, this.peer, folder, this.readWrite, this.own, true);
  }

  async status(): Promise<IncomingStatus> {
    try {
      const s = await this.client.status(this.folder, { messages: true, uidNext: true, uidValidity: true });
      if (!s) throw folderMissing(this.peer, this.folder);
      return { count: s.messages ?? 0, uidNext: s.uidNext, uidValidity: Number(s.uidValidity ?? 0) };
    } catch (err) {
      throw this.failure(err, 'select');
    }
  }

  async list(fromUid = 1, sizeAbove = LARGE_MESSAGE): Promise<RemoteMessage[]> {
    await this.select();
    // Two searches instead of one size per message: the UIDs, and those larger than the
    // threshold (whose exact sizes are then fetched). Everything else is known to be small.
    const threshold = Math.min(sizeAbove, LARGE_MESSAGE);
    const range = `${Math.max(1, fromUid)}:*`;
    try {
      const all = (await this.client.search({ uid: range }, { uid: true })) || [];
      // "N:*" also matches the highest UID when N is above it: keep only what was asked.
      const uids = (Array.isArray(all) ? all : []).filter((uid) => uid >= fromUid).sort((a, b) => a - b);
      if (uids.length === 0) return [];
      const large = (await this.client.search({ uid: range, larger: threshold }, { uid: true })) || [];
      const sizes = new Map<number, number>();
      const bigUids = (Array.isArray(large) ? large : []).filter((uid) => uid >= fromUid);
      if (bigUids.length) {
        for await (const msg of this.client.fetch(uidSet(bigUids.sort((a, b) => a - b)), { uid: true, size: true }, { uid: true })) sizes.set(msg.uid, msg.size ?? 0);
      }
      return uids.map((uid) => ({ n: uid, key: this.keyOf(uid), size: sizes.get(uid) ?? 0 }));
    } catch (err) {
      throw this.failure(err, 'list');
    }
  }

  async fetch(messages: RemoteMessage[], onMessage: (message: RemoteMessage, body: MessageBody) => Promise<void>): Promise<void> {
    await this.select();
    for (const step of fetchPlan(messages)) {
      try {
        if (step.large) {
          const m = step.messages[0]!;
          const { content } = await this.client.download(String(m.n), undefined, { uid: true, chunkSize: DOWNLOAD_CHUNK });
          if (content) await onMessage(m, content as AsyncIterable<Buffer>);
          continue;
        }
        const wanted = new Map(step.messages.map((m) => [m.n, m]));
        for await (const msg of this.client.fetch(uidSet(step.messages.map((m) => m.n)), { uid: true, source: true }, { uid: true })) {
          const m = wanted.get(msg.uid);
          if (m && msg.source) await onMessage({ ...m, size: msg.source.length }, msg.source as MessageBody);
        }
      } catch (err) {
        throw this.failure(err, 'fetch');
      }
    }
  }

  async headers(messages: RemoteMessage[]): Promise<Map<number, Buffer>> {
    const out = new Map<number, Buffer>();
    if (messages.length === 0) return out;
    await this.select();
    try {
      const uids = messages.map((m) => m.n).sort((a, b) => a - b);
      for await (const msg of this.client.fetch(uidSet(uids), { uid: true, headers: HEADER_FIELDS }, { uid: true })) if (msg.headers) out.set(msg.uid, msg.headers);
    } catch (err) {
      throw this.failure(err, 'fetch');
    }
    return out;
  }

  async remove(messages: RemoteMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.select();
    try {
      const uids = messages.map((m) => m.n).sort((a, b) => a - b);
      await this.client.messageDelete(uidSet(uids), { uid: true });
    } catch (err) {
      throw this.failure(err, 'delete');
    }
  }

  async close(): Promise<void> {
    if (this.view) return;
    try {
      await this.client.logout();
    } catch {
      this.client.close();
    }
  }

  abort(): void {
    if (this.view) return;
    this.client.close();
  }
}
