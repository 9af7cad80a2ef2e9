// The POP3 side of Incoming, on the project's POP3 client. Ids are UIDLs.
// Bodies are streamed byte for byte (dot-unstuffed, CRLF and 8-bit kept); with PIPELINING many RETR
// are on the wire at once. Deletions (DELE) take effect only at QUIT, i.e. close().
import type { Readable } from 'node:stream';
import type { Account } from '../../core/account.js';
import type { DebugLog } from '../debug-log.js';
import type { LookupFn } from '../net/socket.js';
import { connectPop3 } from './connect.js';
import type { Incoming, RemoteMessage } from '../types.js';

export interface Pop3ReaderOptions {
  secret: string;
  debug?: DebugLog;
  timeoutMs?: number;
  /** Resolves the server's name (MAILBOX_DNS_SERVERS); default: the system. */
  lookup?: LookupFn;
  /** RETR commands in flight with PIPELINING (default 32). */
  window?: number;
}

export async function openPop3Reader(account: Account, options: Pop3ReaderOptions): Promise<Incoming> {
  const client = await connectPop3(account, { secret: options.secret, tap: options.debug?.tap, timeoutMs: options.timeoutMs, lookup: options.lookup });
  const pipelining = client.capabilities?.has('PIPELINING') ?? false;
  return {
    protocol: 'pop3',

    async status() {
      return { count: (await client.stat()).count };
    },

    async list() {
      // Both listings are sent before either reply is read when the server pipelines.
      const [uidl, sizes] = pipelining ? await Promise.all([client.uidl(), client.list()]) : [await client.uidl(), await client.list()];
      if (uidl.length === 0 && sizes.length > 0) {
        throw client.peer.fail({
          code: 'EPROTOCOL',
          message: `account ${account.name}: the POP3 server lists no UIDLs, so messages cannot be told apart between sessions`,
          hint: 'POP3 without UIDL is not supported: use the IMAP account of this mailbox',
        });
      }
      const size = new Map(sizes.map((s) => [s.id, s.size]));
      return uidl.map((u) => ({ n: u.id, key: u.uid, size: size.get(u.id) ?? 0 }));
    },

    async fetch(messages, onMessage) {
      // A message counts against the window until its body was consumed (not merely received), so
      // bodies not yet written never pile up ahead of a slow disk; RETRs still go out pipelined.
      const window = pipelining ? Math.max(1, options.window ?? 32) : 1;
      const ahead: Array<{ message: RemoteMessage; body: Promise<Readable> }> = [];
      let next = 0;
      const request = () => {
        const message = messages[next++]!;
        const body = client.retrStream(message.n);
        // A failure is reported to the consumer when its turn comes (or is moot after an earlier
        // one); a body stream destroyed before anyone reads it must not become an uncaught 'error'.
        body.then((stream) => stream.on('error', () => undefined)).catch(() => undefined);
        ahead.push({ message, body });
      };
      const refill = () => {
        while (next < messages.length && ahead.length < window) request();
      };
      refill();
      while (ahead.length > 0) {
        const { message, body } = ahead.shift()!;
        await onMessage(message, await body);
        // Topped up in groups: commands written in one go leave in one packet.
        if (ahead.length <= window / 2) refill();
      }
    },

    async headers(messages: RemoteMessage[]) {
      const out = new Map<number, Buffer>();
      for (const m of messages) {
        const header = await client.top(m.n);
        if (!header) break; // no TOP on this server: the others would be refused too
        out.set(m.n, header);
      }
      return out;
    },

    async remove(messages: RemoteMessage[]) {
      if (pipelining) await Promise.all(messages.map((m) => client.dele(m.n)));
      else for (const m of messages) await client.dele(m.n);
    },

    async close() {
      await client.quit();
    },

    abort() {
      client.close();
    },
  };
}
