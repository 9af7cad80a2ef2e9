// The lmtp: destination (issue 13): RFC 2033 through nodemailer's SMTPConnection, which speaks LMTP
// (`lmtp: true`: LHLO, and one reply per accepted recipient after the data). One connection carries
// the messages of a cycle, one after the other. LMTP is a local protocol (RFC 2033 §1): no TLS, no
// login. A recipient's 4xx is retried later, 5xx refuses the message for good; a connection that
// fails is a temporary failure. SMTPConnection resolves a host name itself, through the system, and
// takes no lookup: with MAILBOX_DNS_SERVERS (a `lookup`) we open the socket (as for a unix socket)
// and hand it over connected. LMTP has no TLS, so the host name is needed for nothing else.
import net from 'node:net';
import os from 'node:os';
import { Readable } from 'node:stream';
import type SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import type { HandOffEnvelope, HandOffResult, HandOffTarget } from '../../core/destination.js';
import { socketLookup } from '../net/dns.js';
import type { LookupFn } from '../net/socket.js';

export type LmtpAddress = { host: string; port: number } | { socket: string };

export interface LmtpOptions {
  timeoutMs: number;
  /** MAILBOX_DNS_SERVERS: the host name resolved through it; absent: the system's. */
  lookup?: LookupFn;
}

type Reply = { responseCode?: number; response?: string; message?: string; code?: string };

function oneLine(text: string | undefined): string {
  return String(text ?? '').replace(/\s+/g, ' ').trim();
}

/** A socket of our own, connected within `timeoutMs` (SMTPConnection's connectionTimeout covers only the sockets it opens). */
function connectedSocket(options: net.NetConnectOpts, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(options, () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error('Connection timeout'), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('error', onError);
  });
}

/** A refusal as a result: 4xx (and anything without a code: the connection) later, 5xx for good. */
function refused(err: Reply, where: string): HandOffResult {
  const reply = oneLine(err.response) || oneLine(err.message);
  const error = `${where}: ${reply}`;
  return err.responseCode !== undefined && err.responseCode >= 500 ? { kind: 'failed', error } : { kind: 'retry', error };
}

export function lmtpTarget(address: LmtpAddress, options: LmtpOptions): HandOffTarget {
  const where = 'socket' in address ? `LMTP ${address.socket}` : `LMTP ${address.host}:${address.port}`;
  let open: Promise<SMTPConnection> | undefined;

  const connect = async (): Promise<SMTPConnection> => {
    const { default: Connection } = await import('nodemailer/lib/smtp-connection/index.js');
    const host = os.hostname();
    const common = {
      lmtp: true,
      ignoreTLS: true,
      name: host.includes('.') ? host : 'localhost',
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: Math.max(options.timeoutMs, 60_000),
      logger: false,
    };
    let connection: SMTPConnection;
    if ('socket' in address) {
      connection = new Connection({ ...common, connection: await connectedSocket({ path: address.socket }, options.timeoutMs) });
    } else if (options.lookup) {
      const socket = await connectedSocket({ host: address.host, port: address.port, lookup: socketLookup(options.lookup) }, options.timeoutMs);
      connection = new Connection({ ...common, connection: socket });
    } else {
      connection = new Connection({ ...common, host: address.host, port: address.port, secure: false });
    }
    connection.on('error', () => undefined); // each call reports its own failure
    await new Promise<void>((resolve, reject) => {
      connection.once('error', reject);
      connection.connect(() => {
        connection.off('error', reject);
        resolve();
      });
    });
    connection.once('end', () => (open = undefined));
    return connection;
  };

  return {
    async deliver(content, envelope: HandOffEnvelope, signal): Promise<HandOffResult> {
      if (signal?.aborted) return { kind: 'stopped' };
      let connection: SMTPConnection;
      try {
        connection = await (open ??= connect());
      } catch (err) {
        open = undefined;
        return refused(err as Reply, `${where} unreachable`);
      }
      const body = Readable.from(content);
      const result = await new Promise<HandOffResult>((resolve) => {
        connection.send({ from: envelope.from ?? '', to: [envelope.recipient] }, body, (err, info) => {
          if (err) return resolve(refused(err as Reply, err.code === 'EENVELOPE' ? `${where} refused ${envelope.recipient}` : where));
          const rejected = (info.rejectedErrors ?? []) as Reply[];
          if (rejected.length > 0 || !info.accepted.map(String).includes(envelope.recipient)) {
            return resolve(refused(rejected[0] ?? { response: oneLine(info.response) }, `${where} refused ${envelope.recipient}`));
          }
          resolve({ kind: 'delivered', reply: oneLine(info.response) });
        });
      });
      if (result.kind !== 'delivered') {
        // The session may be anywhere now: start the next message on a new one.
        const old = open;
        open = undefined;
        old?.then((c) => c.close(), () => undefined);
      }
      // After a delivered one the transaction is over (RFC 5321 §4.1.4): the next MAIL FROM follows.
      return result;
    },
    async check() {
      try {
        await (open ??= connect());
        return { ok: true, detail: `${where} answers LHLO` };
      } catch (err) {
        open = undefined;
        const reply = oneLine((err as Reply).response) || oneLine((err as Reply).message);
        return { ok: false, detail: `${where} cannot be reached: ${reply}` };
      }
    },
    async close() {
      const current = open;
      open = undefined;
      const connection = await current?.catch(() => undefined);
      if (connection) {
        connection.quit();
        connection.close();
      }
    },
  };
}
