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
  pop3?: string[];
  pop3Meta?: Pop3Meta;
}

export interface StoreImport {
  /** Which of these email ids the store holds already. */
  presentIds(ids: readonly string[]): Promise<Set<string>>;
  /**
   * Keeps messages as they are, all or nothing (a database: one transaction); one whose id, or
   * account and source id, is there already is left out. Returns the ids kept.
   */
  importMessages(messages: readonly ImportedMessage[]): Promise<string[]>;
  /** An account's seen state: the IMAP cursor and POP3 meta only where there is none, POP3 UIDLs added. */
  importSeen(account: string, seen: SeenImport): Promise<{ imap: 'copied' | 'kept' | null; pop3: number }>;
  /** Run status entries of accounts that have none; returns how many were copied. */
  importStatus(status: RunStatus): Promise<number>;
}
