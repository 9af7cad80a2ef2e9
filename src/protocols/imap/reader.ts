// The IMAP side of Incoming, on imapflow (loaded lazily). Ids are UIDVALIDITY/UID. An idle poll is
// STATUS (UIDNEXT UIDVALIDITY MESSAGES): constant round trips whatever the folder size. New mail is
// listed with one UID FETCH of sizes and fetched in ranges: one UID FETCH (BODY.PEEK[]) per run of
// small messages. imapflow buffers each literal whole, so messages above LARGE_MESSAGE are streamed
// with download() in partial chunks instead, keeping memory flat for a message of any size.
import type { ImapFlow } from 'imapflow';
import type { Account } from '../../core/account.js';
import { MailboxError } from '../../core/errors.js';
import { imapflowLogger, type DebugLog } from '../debug-log.js';
import { networkFailure } from '../errors.js';
import { connectionTls } from '../net/library-tls.js';
import type { Incoming, IncomingStatus, MessageBody, RemoteMessage } from '../types.js';

export const LARGE_MESSAGE = 4 * 1024 * 1024;
const DOWNLOAD_CHUNK = 1024 * 1024;

export interface ImapReaderOptions {
  /** The password or OAuth access token, resolved by the caller. */
  secret: string;
  /** Open the folder read-write (needed to delete); otherwise EXAMINE, which changes nothing. */
  readWrite: boolean;
  debug?: DebugLog;
  timeoutMs?: number;
}

/** "1:5,7,9:12" from ascending UIDs. */
export function uidSet(uids: readonly number[]): string {
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
export function fetchPlan(messages: readonly RemoteMessage[], large = LARGE_MESSAGE): Array<{ large: boolean; messages: RemoteMessage[] }> {
  const plan: Array<{ large: boolean; messages: RemoteMessage[] }> = [];
  for (const m of messages) {
    const isLarge = m.size > large;
    const last = plan[plan.length - 1];
    if (!isLarge && last && !last.large) last.messages.push(m);
    else plan.push({ large: isLarge, messages: [m] });
  }
  return plan;
}

function imapFailure(err: unknown, account: Account, step: string): MailboxError {
  if (err instanceof MailboxError) return err;
  const e = err as { authenticationFailed?: boolean; responseText?: string; serverResponseCode?: string; message?: string; code?: string };
  if (e?.authenticationFailed) {
    return new MailboxError('EAUTH', `account ${account.name}: authentication failed for user ${account.user}${e.responseText ? `: ${e.responseText}` : ''}`, {
      hint: `check the user name and password; update the password with mailbox edit ${account.name} --password-stdin`,
      cause: err,
    });
  }
  if (e?.serverResponseCode === 'NONEXISTENT' || (step === 'select' && e?.responseText)) {
    return new MailboxError('ENOTFOUND', `account ${account.name}: folder ${account.folder} cannot be opened: ${e.responseText ?? e.message}`, {
      hint: `check the folder name: mailbox edit ${account.name} --folder NAME`,
      cause: err,
    });
  }
  if (e?.code === 'NoConnection' || e?.code === 'EConnectionClosed') {
    return new MailboxError('EPROTOCOL', `account ${account.name}: ${account.host}:${account.port} closed the connection (${step})`, {
      hint: 'the server dropped the connection; its log may say why. What was stored is kept; the rest comes next cycle',
      cause: err,
    });
  }
  return networkFailure(err, account, step);
}

/** Starts loading imapflow in the background (the runner knows early that it will need it). */
export function preloadImapflow(): void {
  import('imapflow').catch(() => undefined);
}

export async function openImapReader(account: Account, options: ImapReaderOptions): Promise<Incoming> {
  const { ImapFlow } = await import('imapflow');
  const tls = await connectionTls(account);
  const folder = account.folder ?? 'INBOX';
  const client: ImapFlow = new ImapFlow({
    host: account.host,
    port: account.port,
    secure: account.security === 'tls',
    doSTARTTLS: account.security === 'starttls' ? true : account.security === 'none' ? false : undefined,
    tls,
    auth: account.auth === 'oauth2' ? { user: account.user ?? '', accessToken: options.secret } : { user: account.user ?? '', pass: options.secret },
    logger: options.debug ? (imapflowLogger(options.debug) as never) : false,
    disableAutoIdle: true,
    connectionTimeout: options.timeoutMs ?? 30_000,
    greetingTimeout: options.timeoutMs ?? 30_000,
    socketTimeout: Math.max(options.timeoutMs ?? 0, 120_000),
  });
  // imapflow reports a dropped connection as an 'error' event too; the pending command fails with it.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    client.close();
    throw imapFailure(err, account, 'login');
  }

  let selected = false;
  const select = async () => {
    if (selected) return;
    try {
      await client.mailboxOpen(folder, { readOnly: !options.readWrite });
      selected = true;
    } catch (err) {
      throw imapFailure(err, account, 'select');
    }
  };
  const uidValidity = () => Number(client.mailbox && typeof client.mailbox === 'object' ? client.mailbox.uidValidity : 0);
  const keyOf = (uid: number) => `${uidValidity()}/${uid}`;

  return {
    protocol: 'imap',

    async status(): Promise<IncomingStatus> {
      try {
        const s = await client.status(folder, { messages: true, uidNext: true, uidValidity: true });
        if (!s) throw new MailboxError('ENOTFOUND', `account ${account.name}: folder ${folder} cannot be opened`, { hint: `check the folder name: mailbox edit ${account.name} --folder NAME` });
        return { count: s.messages ?? 0, uidNext: s.uidNext, uidValidity: Number(s.uidValidity ?? 0) };
      } catch (err) {
        throw imapFailure(err, account, 'select');
      }
    },

    async list(fromUid = 1, sizeAbove = LARGE_MESSAGE): Promise<RemoteMessage[]> {
      await select();
      // Two searches instead of one size per message: the UIDs, and those larger than the
      // threshold (whose exact sizes are then fetched). Everything else is known to be small.
      const threshold = Math.min(sizeAbove, LARGE_MESSAGE);
      const range = `${Math.max(1, fromUid)}:*`;
      try {
        const all = (await client.search({ uid: range }, { uid: true })) || [];
        // "N:*" also matches the highest UID when N is above it: keep only what was asked.
        const uids = (Array.isArray(all) ? all : []).filter((uid) => uid >= fromUid).sort((a, b) => a - b);
        if (uids.length === 0) return [];
        const large = (await client.search({ uid: range, larger: threshold }, { uid: true })) || [];
        const sizes = new Map<number, number>();
        const bigUids = (Array.isArray(large) ? large : []).filter((uid) => uid >= fromUid);
        if (bigUids.length) {
          for await (const msg of client.fetch(uidSet(bigUids.sort((a, b) => a - b)), { uid: true, size: true }, { uid: true })) sizes.set(msg.uid, msg.size ?? 0);
        }
        return uids.map((uid) => ({ n: uid, key: keyOf(uid), size: sizes.get(uid) ?? 0 }));
      } catch (err) {
        throw imapFailure(err, account, 'list');
      }
    },

    async fetch(messages, onMessage) {
      await select();
      for (const step of fetchPlan(messages)) {
        try {
          if (step.large) {
            const m = step.messages[0]!;
            const { content } = await client.download(String(m.n), undefined, { uid: true, chunkSize: DOWNLOAD_CHUNK });
            if (content) await onMessage(m, content as AsyncIterable<Buffer>);
            continue;
          }
          const wanted = new Map(step.messages.map((m) => [m.n, m]));
          for await (const msg of client.fetch(uidSet(step.messages.map((m) => m.n)), { uid: true, source: true }, { uid: true })) {
            const m = wanted.get(msg.uid);
            if (m && msg.source) await onMessage({ ...m, size: msg.source.length }, msg.source as MessageBody);
          }
        } catch (err) {
          throw imapFailure(err, account, 'fetch');
        }
      }
    },

    async remove(messages) {
      if (messages.length === 0) return;
      await select();
      try {
        const uids = messages.map((m) => m.n).sort((a, b) => a - b);
        await client.messageDelete(uidSet(uids), { uid: true });
      } catch (err) {
        throw imapFailure(err, account, 'delete');
      }
    },

    async close() {
      try {
        await client.logout();
      } catch {
        client.close();
      }
    },

    abort() {
      client.close();
    },
  };
}
