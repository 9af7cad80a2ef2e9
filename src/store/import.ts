// What a store offers to take in another store's contents whole (`mailbox migrate-store`): records
// with their bodies as they are (ids, states, times kept), seen state and run status, each only where
// it is not there already, so a copy can be repeated (or resumed) without storing anything twice.
import type { Readable } from 'node:stream';
import type { EmailRecord, ImapCursor, Pop3Meta, RunStatus } from './types.js';

export interface ImportedMessage {
  record: EmailRecord;
  /** Its bytes, streamed; null when the source has the record but not the message. */
  body: Readable | null;
}

export interface SeenImport {
  imap?: ImapCursor;
  /** The cursors of the other folders an IMAP account reads (issue 13), by folder name (the slot). */
  imapFolders?: Array<{ slot: string; cursor: ImapCursor }>;
  pop3?: string[];
  pop3Meta?: Pop3Meta;
}

export interface SeenImported {
  imap: 'copied' | 'kept' | null;
  folders: number;
  pop3: number;
}

export interface StoreImport {
  /** Which of these email ids the store holds already. */
  presentIds(ids: readonly string[]): Promise<Set<string>>;
  /**
   * Keeps messages as they are, all or nothing (a database: one transaction); one whose id, or
   * account and source id, is there already is left out. Returns the ids kept.
   */
  importMessages(messages: readonly ImportedMessage[]): Promise<string[]>;
  /**
   * An account's seen state: each IMAP cursor and the POP3 meta only where there is none, POP3 UIDLs
   * added. Returns what happened to the own folder's cursor, how many other folders' cursors were copied.
   */
  importSeen(account: string, seen: SeenImport): Promise<SeenImported>;
  /** Run status entries of accounts that have none; returns how many were copied. */
  importStatus(status: RunStatus): Promise<number>;
}
