// The store as jobs and commands see it: interfaces only, opened by openStores() (open.ts). The local
// files (local/) are the default; memory/ serves fast tests; a database store implements the same.
// Nothing here names a file: where a message is kept is the implementation's business.
import type { Readable } from 'node:stream';
import type { Account } from '../core/account.js';
import type { Config } from '../core/config.js';
import type { EmailState } from '../core/email.js';

export interface EmailRecord {
  id: string;
  state: EmailState;
  /** Incoming: the account it was read from. Outgoing: the SMTP account that sends (or sent) it. */
  account: string | null;
  /** The Date header, ISO 8601. */
  date: string | null;
  from: string | null;
  to: string[];
  cc: string[];
  subject: string | null;
  size: number;
  attempts: number;
  nextAttempt: string | null;
  error: string | null;
  /** The name the body is kept under (local files: the file name in its box's Maildir). */
  file: string;
  messageId: string | null;
  /** Incoming: "UIDVALIDITY/UID" (IMAP; "UIDVALIDITY/UID/FOLDER" in another folder than the account's own) or the UIDL (POP3). */
  source: string | null;
  /** Incoming from IMAP (issue 13): the folder it was read from. */
  folder?: string;
  /** Outgoing: envelope recipients (To, Cc and Bcc), fixed when queued. */
  recipients?: string[];
  /** Outgoing: what the last attempt did with those recipients; absent before the first. */
  delivery?: Delivery;
  /** Outgoing: the server's reply to the message (its queue id), once sent. */
  reply?: string | null;
  /** Outgoing: set while an attempt is under way; found set after a crash, the attempt is retried. */
  inFlight?: string | null;
  /** Incoming, when the account has a destination (issue 13): its hand-off there; absent: the inbox is the end. */
  handoff?: HandOff;
  createdAt: string;
  updatedAt: string;
}

/** A recipient the outbound filter dropped before sending: the filter and the pattern that blocked it. */
export interface DroppedRecipient {
  address: string;
  filter: string;
  pattern: string | null;
}

/** A recipient the server refused (RCPT TO answered 4xx or 5xx), with its reply. */
export interface RefusedRecipient {
  address: string;
  reply: string;
}

/** What an attempt to send did with the queued recipients: the envelope sent, and who was left out and why. */
export interface Delivery {
  /** The recipients the server accepted: the envelope actually sent (empty when nothing was sent). */
  sentTo: string[];
  dropped: DroppedRecipient[];
  refused: RefusedRecipient[];
  /** Set when the test redirect (setting redirect-to) sent it to this address instead of its recipients. */
  redirectedTo?: string;
}

/**
 * Issue 13: a received message's hand-off to its account's destination, kept on its email record.
 * Written `pending` with the record in the batch that stores the message (so a stop before the hand-off
 * leaves it pending, and it is handed off at the next cycle); settled after each attempt.
 */
export interface HandOff {
  /** The destination, in its text form (core/destination.ts), as it was when the message was stored. */
  dest: string;
  /** pending: to do, or to retry at nextAttempt; delivered; failed: refused for good (the email is delivery-failed). */
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** The last failure: the destination's reply, or what went wrong. */
  error: string | null;
  /** Pending after a temporary failure: not before this time (ISO 8601); null: due now. */
  nextAttempt: string | null;
}

/** A message body as it arrives: whole (small, fetched in bulk) or streamed (never held whole). */
export type MessageData = Buffer | AsyncIterable<Buffer>;

/** Which message a call is about: its id, its state (which box it is filed in) and its file name. */
export type MessageRef = Pick<EmailRecord, 'id' | 'state' | 'file'>;

export interface SourceRef {
  account: string;
  /** IMAP "UIDVALIDITY/UID", POP3 UIDL. */
  id: string;
}

/** An incoming message written to temporary storage: not visible, and not kept, until its batch is committed. */
export interface StagedMessage {
  readonly id: string;
  readonly size: number;
  /** The name it will be kept under (EmailRecord.file). */
  readonly file: string;
}

export interface ImapCursor {
  folder: string;
  uidValidity: number;
  /** Every UID up to this one is stored, or deliberately left on the server (tooLarge). */
  lastUid: number;
  /** UIDs above lastUid already stored (after a gap: a failed message, or found after a crash). */
  extra: number[];
  /** Messages over the account's maximum size, left on the server: UID -> size. */
  tooLarge: Record<string, number>;
  /** Re-reading after a UIDVALIDITY change: messages already stored (same Message-ID and size) are skipped. */
  dedupe: boolean;
  /** Delete mode: stored messages may still be on the server (a stop came between storing and deleting). */
  pendingDelete: boolean;
  /** The own folder's cursor of an account reading several (issue 13): the folders read last cycle, to report one that disappears. */
  folders?: string[];
}

export interface Pop3Meta {
  /** Messages over the account's maximum size, left on the server: UIDL -> size. */
  tooLarge: Record<string, number>;
}

/**
 * What a committed batch changes in the seen state: the new IMAP cursor (of the account's own folder,
 * or with `slot` of another folder it reads: issue 13), or POP3 UIDLs now stored.
 */
export type SeenChange = { imap: ImapCursor; slot?: string } | { pop3: string[] };

export interface IncomingBatch {
  account: string;
  /** Messages to keep, each with its email record (whose state says the box: inbox or skipped). */
  messages: Array<{ staged: StagedMessage; record: EmailRecord }>;
  seen: SeenChange;
}

/** Where the reader puts what it downloads. */
export interface IncomingStore {
  /** Writes a message to temporary storage (the body is read to its end, never held whole). */
  stage(data: MessageData, source: SourceRef): Promise<StagedMessage>;
  /** Drops a staged message (recognised as stored already, or its delivery failed). */
  discard(staged: StagedMessage): Promise<void>;
  /**
   * Keeps one batch: the bodies, their email records and the seen-state change, all or nothing
   * (a database: one transaction). Durable when it resolves; only then may the server delete them.
   * When it fails, nothing of the batch is kept, and its staged messages are dropped.
   */
  commit(batch: IncomingBatch): Promise<void>;
  /** Which of these source ids of the account are stored already (whatever the seen state says). */
  held(account: string, sources: readonly string[]): Promise<Set<string>>;
}

/** Stored messages as people and tools see them. */
export interface MailStore {
  /** The file holding the message, for tools that read files; null when it is missing (or no file exists). */
  filePath(message: MessageRef): Promise<string | null>;
  /** The message's header block (bounded), or null when the message is missing. */
  head(message: MessageRef): Promise<Buffer | null>;
  /** The message's exact bytes, streamed (never held whole), or null when the message is missing. */
  read(message: MessageRef): Promise<Readable | null>;
}

/** The email log: one record per message, its latest version. */
export interface EmailLog {
  /** Every record, latest version, in the order first written. */
  readAll(): Promise<Map<string, EmailRecord>>;
  /**
   * Visits every record (possibly several versions of one, oldest first) without holding them all.
   * Earlier versions of a record removed since (Stores.prune) may still be visited.
   */
  scan(visit: (record: EmailRecord) => void): Promise<void>;
}

/** Which messages of each incoming account are stored. Batches change it through IncomingStore.commit. */
export interface SeenState {
  /**
   * The cursor of the account's own folder (the one cursor an account had before issue 13; its
   * `folder` says which folder), or with `slot` (a folder name) that of another folder the account
   * reads. A database keys cursors by (account, slot), slot '' for the own one.
   */
  imapCursor(account: string, slot?: string): Promise<ImapCursor | undefined>;
  saveImapCursor(account: string, cursor: ImapCursor, slot?: string): Promise<void>;
  pop3Seen(account: string): Promise<Set<string>>;
  /** Records UIDLs as stored; durable when it resolves. */
  addPop3Seen(account: string, uidls: string[]): Promise<void>;
  /** Keeps only the UIDLs the server still lists (the rest can never come back). */
  prunePop3Seen(account: string, present: ReadonlySet<string>): Promise<void>;
  pop3Meta(account: string): Promise<Pop3Meta>;
  savePop3Meta(account: string, meta: Pop3Meta): Promise<void>;
}

/**
 * Issue 13: received messages on their way to their account's destination (the records whose `handoff`
 * is not delivered). Kept small for other stores: a database needs the handoff column on the email rows
 * and an index on (account) where the hand-off is not delivered.
 */
export interface HandOffStore {
  /** Records of `account` whose hand-off is pending and due at `now` (nextAttempt null or passed), oldest first. */
  due(account: string, now: Date): Promise<EmailRecord[]>;
  /** Source ids of `account` whose hand-off is not done (pending or failed): delete-after-download leaves them on the server. */
  undelivered(account: string): Promise<Set<string>>;
  /**
   * Records attempts' outcomes: each record as it is now, in one write. One that became delivery-failed
   * is moved to the failed box. Durable when it resolves.
   */
  settle(records: readonly EmailRecord[]): Promise<void>;
  /** Puts a delivery-failed message (or one waiting to retry) back to pending, due now (`emails retry`). */
  retry(id: string, now: Date): Promise<EmailRecord>;
  /** Hand-offs pending and failed, by account name (lower case), for `status`. */
  counts(): Promise<Record<string, { pending: number; failed: number }>>;
}

/** A message of the queue, claimed for sending: its record and its content as the sender hands it on. */
export interface QueuedMessage {
  readonly record: EmailRecord;
  readonly size: number;
  /** Whole when small, a stream when large (never held whole). */
  content(): Promise<Buffer | Readable>;
}

export type Outcome =
  | { kind: 'sent'; reply: string; account: string; delivery?: Delivery }
  | { kind: 'failed'; error: string; delivery?: Delivery }
  | { kind: 'retry'; error: string; delivery?: Delivery }
  | { kind: 'ignored'; reason: string; delivery?: Delivery }
  /** Claimed but never handed to the server (a stop came first): the attempt is taken back. */
  | { kind: 'untried' };

export interface Settled {
  record: EmailRecord;
  /** For a retry that ran out of attempts: it failed instead. */
  gaveUp: boolean;
}

export interface NewOutgoing {
  /** The SMTP account that will send it (the active one when queued), if any. */
  account: string | null;
  /** Envelope recipients: To, Cc and Bcc (or, for a message given whole, read once it is written). */
  recipients: string[] | (() => Promise<string[]>);
}

/** The outgoing queue. A message is claimed (marked in flight, durably) before it is handed to a server. */
export interface Queue {
  enqueue(data: MessageData, outgoing: NewOutgoing): Promise<EmailRecord>;
  /**
   * Claims up to `limit` messages due now, oldest first (ready, retry time reached, or found in flight
   * after a stop), and marks them in flight. Messages claimed and not yet committed are not claimed again.
   */
  claim(now: Date, limit: number): Promise<QueuedMessage[]>;
  /** Applies an outcome at once (a message the server took leaves the outbox); not yet durable or logged. */
  place(message: QueuedMessage, outcome: Outcome, now: Date): Promise<Settled>;
  /** Makes placed outcomes durable and records them, one write for all. */
  commit(placed: Settled[]): Promise<void>;
  /** Messages waiting in the outbox (due or not). */
  waiting(): Promise<EmailRecord[]>;
  /** Puts a failed (or backing-off) message back in the queue, ready now. */
  requeue(id: string, now: Date): Promise<EmailRecord>;
  /**
   * How many messages the server took through this SMTP account (state sent, `account` compared
   * case-insensitively) at or after `since`: the send throttle's count across cycles and runner
   * restarts. Asked once per send cycle of a throttled account.
   */
  sentSince(account: string, since: Date): Promise<number>;
}

export interface CycleStatus {
  job: 'read' | 'send';
  /** When the last cycle ended, ISO 8601. */
  at: string;
  ok: boolean;
  /** One line: what was fetched, sent, skipped, failed. */
  summary: string;
  error: string | null;
  lastSuccessAt: string | null;
  lastError: { at: string; message: string } | null;
  /** The exit code of the last cycle's error (69 unreachable, 77 authentication, 78 configuration...); absent when it succeeded. */
  exitCode?: number;
}

/** The runner's heartbeat, for `status --check` to tell a runner that runs from one that hangs or is gone. */
export interface RunnerBeat {
  pid: number;
  startedAt: string;
  /** Written every HEARTBEAT interval while the runner lives (ISO 8601). */
  heartbeatAt: string;
  /** Set when it stopped cleanly. */
  stoppedAt: string | null;
  readIntervalMs: number;
  sendIntervalMs: number;
}

/** Push (IMAP IDLE) of an incoming account while a runner runs. */
export interface PushStatus {
  /** push: watched over IDLE; poll: read at the read interval only (`reason` says why). */
  mode: 'push' | 'poll';
  /** push only: where the watching connection is. */
  state: 'connecting' | 'watching' | 'reconnecting' | null;
  /** Watching without a break since, ISO 8601. */
  since: string | null;
  /** The last time the server announced new mail, ISO 8601. */
  lastEventAt: string | null;
  /** New connections after a drop, since the runner started. */
  reconnects: number;
  /** poll: why; reconnecting: what ended the last connection. */
  reason: string | null;
  /** watching: the folder watched (the first of several an account reads); else null. Absent in a status written before it was kept. */
  folder?: string | null;
}

export interface RunStatus {
  /** By account name, lower case. */
  accounts: Record<string, CycleStatus>;
  /** Absent until a runner wrote it. */
  runner?: RunnerBeat;
  /** When the runner last pruned by the retention setting (ISO 8601). */
  prunedAt?: string;
  /** By account name, lower case: push state of the incoming accounts of the running runner (absent when none runs). */
  push?: Record<string, PushStatus>;
}

/** What `mailbox status` shows, written by the runner after its cycles. */
export interface RunStatusStore {
  load(): Promise<RunStatus>;
  save(status: RunStatus): Promise<void>;
}

export interface HeldRunLock {
  /** Set when the lock of a runner that did not stop cleanly was taken over. */
  readonly tookOverFrom: number | null;
  /**
   * A fleet (the database store): which of these incoming accounts this worker reads now (its share
   * of the leases, renewed or taken), and the accounts whose lease another worker took since the last
   * call. Absent (local files, memory): one runner reads them all.
   */
  share?(accounts: readonly string[]): Promise<Share>;
  /** A fleet: how many accounts a worker reads at once (absent: all). */
  readonly concurrency?: number;
  release(): Promise<void>;
}

export interface Share {
  /** Lower-cased names of the accounts this worker holds the lease of. */
  accounts: Set<string>;
  /** Lower-cased names of accounts whose lease another worker took (this one was frozen or cut off). */
  lost: string[];
}

export interface WorkerView {
  id: string;
  host: string;
  pid: number;
  startedAt: string;
  heartbeat: string;
  /** False once its heartbeat is older than the lease: its accounts and claims are taken over. */
  alive: boolean;
}

/** A fleet's workers and which one holds each account's lease (by lower-cased name: worker id). */
export interface FleetView {
  workers: WorkerView[];
  holders: Record<string, string>;
}

/** One runner per store (local files), or a fleet worker of the database store. */
export interface RunLock {
  /** Takes the store for this process; ELOCKED naming the holder when another runner has it. */
  acquire(): Promise<HeldRunLock>;
  /** The pid of the runner holding the store (a fleet: the oldest live worker), or null. */
  holder(): Promise<number | null>;
  /** A fleet only: its workers and leases, for `mailbox status`. */
  fleet?(): Promise<FleetView>;
}

export interface ConfigChange<T> {
  config?: Config;
  result: T;
  undo?: () => Promise<unknown>;
  afterWrite?: () => Promise<unknown>;
}

/** Accounts, filters and settings. */
export interface ConfigStorage {
  load(): Promise<Config>;
  /**
   * Read-modify-write, exclusive against every other writer. `change` sees the current config and
   * returns the new one (or none to write nothing); nothing is written when it throws. `undo` runs
   * when the write fails; `afterWrite` once it is done, still exclusive.
   */
  update<T>(change: (config: Config) => Promise<ConfigChange<T>> | ConfigChange<T>): Promise<T>;
}

/** `deliver`: recovery writes a pending hand-off into a record it rebuilds for an account with a destination. */
export type IncomingAccount = Pick<Account, 'name' | 'type'> & Partial<Pick<Account, 'deliver' | 'folder'>>;

export interface Stores {
  config: ConfigStorage;
  incoming: IncomingStore;
  mail: MailStore;
  log: EmailLog;
  seen: SeenState;
  queue: Queue;
  handoffs: HandOffStore;
  status: RunStatusStore;
  lock: RunLock;
  /**
   * Repairs what a stop between two steps left behind, so that nothing is lost or stored twice:
   * run at every runner start, under the run lock, whatever state the last runner left. Returns
   * notes for the admin.
   */
  recover(accounts: readonly IncomingAccount[]): Promise<string[]>;
  /**
   * Removes messages for good: each one's record and its stored body together (retention). A message
   * still queued or in flight is never removed (left out of the result); ids not found are ignored.
   * Resolves with the ids removed.
   */
  prune(ids: readonly string[]): Promise<string[]>;
  /** Lets go of what the store holds (threads, connections). */
  close(): Promise<void>;
}

export interface StoreOptions {
  clock: () => Date;
  /** This process, for the run lock. */
  pid: number;
  /** Whether a process with this pid exists (the run lock's holder may have been killed). */
  isAlive: (pid: number) => boolean;
  /** A PostgreSQL URL: the database store instead of the local files. */
  database?: string;
}
