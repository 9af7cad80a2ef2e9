// Messages, the email log and the seen state in memory: what the local files keep, with the same
// rules (a batch kept all or nothing, one message per account and source id), for fast tests.
import { Readable } from 'node:stream';
import { boxOf, type Box } from '../../core/email.js';
import { MailboxError } from '../../core/errors.js';
import { handOffCounts, handOffDue, handOffOpen, handOffRetried } from '../handoff-rules.js';
import { newId } from '../ids.js';
import { headerEnd, MAX_HEADER_BYTES } from '../message-headers.js';
import type {
  EmailLog,
  EmailRecord,
  HandOffStore,
  ImapCursor,
  IncomingBatch,
  IncomingStore,
  MailStore,
  MessageData,
  MessageRef,
  Pop3Meta,
  SeenChange,
  SeenState,
  SourceRef,
  StagedMessage,
} from '../types.js';

export interface MemoryMessage {
  box: Box;
  body: Buffer;
  source: SourceRef | null;
}

export async function readAll(data: MessageData): Promise<Buffer> {
  if (Buffer.isBuffer(data)) return Buffer.from(data);
  const chunks: Buffer[] = [];
  for await (const chunk of data) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export function headOf(body: Buffer): Buffer {
  const end = headerEnd(body);
  return body.subarray(0, end >= 0 ? end : Math.min(body.length, MAX_HEADER_BYTES));
}

export class MemoryLog implements EmailLog {
  /** Every version appended, oldest first. */
  readonly versions: EmailRecord[] = [];
  readonly latest = new Map<string, EmailRecord>();

  append(records: readonly EmailRecord[]): void {
    for (const record of records) {
      const copy = structuredClone(record);
      this.versions.push(copy);
      this.latest.set(copy.id, copy);
    }
  }

  async readAll(): Promise<Map<string, EmailRecord>> {
    return new Map([...this.latest].map(([id, r]) => [id, structuredClone(r)]));
  }

  async scan(visit: (record: EmailRecord) => void): Promise<void> {
    for (const record of [...this.versions]) visit(structuredClone(record));
  }

  /** Forgets these records, every version. */
  remove(ids: ReadonlySet<string>): void {
    for (const id of ids) this.latest.delete(id);
    const kept = this.versions.filter((r) => !ids.has(r.id));
    this.versions.splice(0, this.versions.length, ...kept);
  }
}

export class MemorySeen implements SeenState {
  readonly imap = new Map<string, ImapCursor>();
  readonly pop3 = new Map<string, Set<string>>();
  readonly meta = new Map<string, Pop3Meta>();

  /** By account (lower case), and for another folder than the account's own, "account\nFOLDER". */
  async imapCursor(account: string, slot?: string): Promise<ImapCursor | undefined> {
    const cursor = this.imap.get(slot ? `${account.toLowerCase()}\n${slot}` : account.toLowerCase());
    return cursor && structuredClone(cursor);
  }

  async saveImapCursor(account: string, cursor: ImapCursor, slot?: string): Promise<void> {
    this.imap.set(slot ? `${account.toLowerCase()}\n${slot}` : account.toLowerCase(), structuredClone(cursor));
  }

  async pop3Seen(account: string): Promise<Set<string>> {
    return new Set(this.pop3.get(account.toLowerCase()));
  }

  async addPop3Seen(account: string, uidls: string[]): Promise<void> {
    const key = account.toLowerCase();
    this.pop3.set(key, new Set([...(this.pop3.get(key) ?? []), ...uidls]));
  }

  async prunePop3Seen(account: string, present: ReadonlySet<string>): Promise<void> {
    const key = account.toLowerCase();
    this.pop3.set(key, new Set([...(this.pop3.get(key) ?? [])].filter((u) => present.has(u))));
  }

  async pop3Meta(account: string): Promise<Pop3Meta> {
    return structuredClone(this.meta.get(account.toLowerCase()) ?? { tooLarge: {} });
  }

  async savePop3Meta(account: string, meta: Pop3Meta): Promise<void> {
    this.meta.set(account.toLowerCase(), structuredClone(meta));
  }

  apply(account: string, change: SeenChange): Promise<void> {
    return 'imap' in change ? this.saveImapCursor(account, change.imap, change.slot) : this.addPop3Seen(account, change.pop3);
  }
}

/** The bodies (by message id), and the incoming side that stages and commits them. */
export class MemoryMail implements MailStore, IncomingStore {
  readonly messages = new Map<string, MemoryMessage>();
  private readonly staged = new Map<string, { body: Buffer; source: SourceRef }>();

  constructor(
    private readonly log: MemoryLog,
    private readonly seen: MemorySeen,
  ) {}

  async stage(data: MessageData, source: SourceRef): Promise<StagedMessage> {
    const body = await readAll(data);
    const id = newId();
    this.staged.set(id, { body, source });
    return { id, size: body.length, file: id };
  }

  async discard(staged: StagedMessage): Promise<void> {
    this.staged.delete(staged.id);
  }

  async commit(batch: IncomingBatch): Promise<void> {
    const refuse = (message: string) => {
      for (const { staged } of batch.messages) this.staged.delete(staged.id);
      return new MailboxError('EINTERNAL', message);
    };
    const missing = batch.messages.find((m) => !this.staged.has(m.staged.id));
    if (missing) throw refuse(`message ${missing.staged.id} is not staged`);
    const held = await this.held(batch.account, batch.messages.map((m) => m.record.source ?? ''));
    if (held.size) throw refuse(`already stored: ${[...held].join(', ')} (one message per account and source id)`);
    for (const { staged, record } of batch.messages) {
      const { body, source } = this.staged.get(staged.id)!;
      this.staged.delete(staged.id);
      this.messages.set(staged.id, { box: boxOf(record), body, source });
    }
    this.log.append(batch.messages.map((m) => m.record));
    await this.seen.apply(batch.account, batch.seen);
  }

  async held(account: string, sources: readonly string[]): Promise<Set<string>> {
    const wanted = new Set(sources);
    const found = new Set<string>();
    for (const m of this.messages.values()) {
      if (m.source && m.source.account.toLowerCase() === account.toLowerCase() && wanted.has(m.source.id)) found.add(m.source.id);
    }
    return found;
  }

  /** Messages staged and neither committed nor discarded (tests check nothing is left behind). */
  get stagedCount(): number {
    return this.staged.size;
  }

  async filePath(): Promise<string | null> {
    return null; // nothing here is a file
  }

  async head(message: MessageRef): Promise<Buffer | null> {
    const stored = this.messages.get(message.id);
    return stored ? Buffer.from(headOf(stored.body)) : null;
  }

  async read(message: MessageRef): Promise<Readable | null> {
    const stored = this.messages.get(message.id);
    return stored ? Readable.from([Buffer.from(stored.body)]) : null;
  }
}

/** Hand-offs (issue 13) over the in-memory log and bodies: the same rules as the local files. */
export class MemoryHandOffs implements HandOffStore {
  constructor(
    private readonly log: MemoryLog,
    private readonly mail: MemoryMail,
  ) {}

  private mine(account: string): EmailRecord[] {
    const name = account.toLowerCase();
    return [...this.log.latest.values()].filter((r) => handOffOpen(r) && r.account?.toLowerCase() === name);
  }

  async due(account: string, now: Date): Promise<EmailRecord[]> {
    return this.mine(account).filter((r) => handOffDue(r, now));
  }

  async undelivered(account: string): Promise<Set<string>> {
    return new Set(this.mine(account).flatMap((r) => (r.source ? [r.source] : [])));
  }

  async settle(records: readonly EmailRecord[]): Promise<void> {
    for (const record of records) {
      const stored = this.mail.messages.get(record.id);
      if (stored) stored.box = boxOf(record);
    }
    this.log.append(records);
  }

  async retry(id: string, now: Date): Promise<EmailRecord> {
    const updated = handOffRetried(this.log.latest.get(id), id, now);
    await this.settle([updated]);
    return updated;
  }

  async counts(): Promise<Record<string, { pending: number; failed: number }>> {
    return handOffCounts(this.log.latest.values());
  }
}
