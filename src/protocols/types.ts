// The two small interfaces the jobs see: Incoming (an IMAP folder or a POP3 maildrop) and Outgoing
// (an SMTP submission connection). Adapters live beside this file; jobs never touch a library.
import type { Readable } from 'node:stream';

export interface RemoteMessage {
  /** IMAP: the UID. POP3: the message number in this session. */
  n: number;
  /** The id stored with the message: IMAP "UIDVALIDITY/UID", POP3 the UIDL. */
  key: string;
  /** Octets, as the server reports them (RFC822.SIZE, LIST); IMAP: 0 for a message only known to be below `sizeAbove`. */
  size: number;
}

/** A message body: whole (small messages fetched in bulk) or streamed (large ones, POP3). */
export type MessageBody = Buffer | AsyncIterable<Buffer>;

export interface IncomingStatus {
  /** Messages on the server. */
  count: number;
  /** IMAP only. */
  uidValidity?: number;
  /** IMAP only: the UID the next message will get. */
  uidNext?: number;
}

export interface Incoming {
  readonly protocol: 'imap' | 'pop3';
  /** Cheap: a constant number of round trips whatever the mailbox size (IMAP STATUS, POP3 STAT). */
  status(): Promise<IncomingStatus>;
  /**
   * IMAP: the messages with UID >= fromUid, exact sizes only for those above `sizeAbove` (UID SEARCH,
   * then RFC822.SIZE of the large ones). POP3: every message with its size (UIDL + LIST).
   */
  list(fromUid?: number, sizeAbove?: number): Promise<RemoteMessage[]>;
  /**
   * Fetches the messages in order, pipelined (IMAP: one UID FETCH per run of small messages; POP3:
   * RETR with PIPELINING). `onMessage` must consume the body; the next message is read once the
   * promise it returns resolves, so returning early overlaps the caller's disk writes with the network.
   */
  fetch(messages: RemoteMessage[], onMessage: (message: RemoteMessage, body: MessageBody) => Promise<void>): Promise<void>;
  /**
   * The header blocks of these messages, by `n` (IMAP: BODY.PEEK[HEADER.FIELDS], changing nothing;
   * POP3: TOP n 0): to say what a message left on the server is. A message the server will not show
   * this way (POP3 without TOP) is missing from the map.
   */
  headers(messages: RemoteMessage[]): Promise<Map<number, Buffer>>;
  /** Deletes from the server (IMAP: \Deleted + UID EXPUNGE; POP3: DELE, committed by close()). */
  remove(messages: RemoteMessage[]): Promise<void>;
  /** IMAP (issue 13): the selectable folders the server lists, with their hierarchy delimiter. */
  folders?(): Promise<Array<{ name: string; delimiter: string }>>;
  /**
   * IMAP (issue 13): the same session on another folder. Its source ids are "UIDVALIDITY/UID/FOLDER"
   * unless it is the account's own folder; closing it leaves the session open.
   */
  inFolder?(folder: string): Incoming;
  /** Ends the session politely (POP3 QUIT commits deletions). */
  close(): Promise<void>;
  /** Drops the connection at once (a stop was asked for); pending calls fail. */
  abort(): void;
}

export interface Envelope {
  from: string;
  to: string[];
}

/** A recipient the server refused (RCPT TO answered 4xx or 5xx). */
export interface Refusal {
  address: string;
  /** The server's reply, on one line. */
  reply: string;
}

export interface SendResult {
  /** The server's reply to the end of data, e.g. "250 2.0.0 Ok: queued as 4F2A1". */
  reply: string;
  accepted: string[];
  /** Recipients the server refused while it took the message for the others. */
  refused: Refusal[];
}

/** Why a message was not sent: 5xx is permanent; 4xx, no reply or a lost connection is temporary. */
export interface SendFailure {
  permanent: boolean;
  /** The server's reply or the connection error, kept with the message. */
  message: string;
  /** Set when the connection or the account failed (not this message): the cycle stops. */
  connection: boolean;
  /** Nothing of the message reached the server (the login failed first): the attempt does not count. */
  untried?: boolean;
  /** Every recipient was refused: each with its reply. */
  refused?: Refusal[];
}

/** A message to send as the store hands it over: whole when small, a stream when large (never held whole). */
export interface OutgoingMessage {
  size: number;
  content(): Promise<Buffer | Readable>;
}

export interface Outgoing {
  /** Sends one raw message. Many sends may be in flight; they share the pooled connection. */
  send(message: OutgoingMessage, envelope: Envelope): Promise<SendResult>;
  /** Classifies an error thrown by send(). */
  classify(err: unknown): SendFailure;
  close(): Promise<void>;
  /** Drops the connection at once. */
  abort(): void;
}

/**
 * Push: a long-lived connection watching an IMAP folder (IDLE, RFC 2177) that only says "new mail
 * announced"; the reader's normal cycle reads it. Liveness is the caller's: it calls refresh() on
 * its own clock.
 */
export interface FolderWatch {
  /** The folder watched (open read-only): the account's folder, or the first of several it reads. */
  readonly folder: string;
  /** The server offers IDLE; false: it cannot push, the account is polled. */
  readonly canIdle: boolean;
  /** Enters IDLE; lasts until the next refresh() or the end of the connection. */
  idle(): void;
  /**
   * Breaks IDLE, sends NOOP and enters IDLE again. Rejects (and drops the connection) when the
   * server does not answer within `deadlineMs`: a dead connection is noticed in bounded time.
   */
  refresh(deadlineMs: number): Promise<void>;
  /** Settles once the connection has ended (BYE, dropped, closed), with why. */
  readonly closed: Promise<Error>;
  /** Drops the connection. */
  close(): void;
}
