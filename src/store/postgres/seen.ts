// The seen state in the database, by lower-cased account name: the IMAP cursor of each folder (slot ''
// the account's own folder, else the folder's name), the POP3 UIDLs stored,
// the POP3 messages left on the server for their size. A batch changes it in its own transaction
// (apply(), called by the incoming store's commit); the reader's other writes are one statement each,
// in a transaction with the fence.
import { imapCursorOf } from '../cursor.js';
import type { ImapCursor, Pop3Meta, SeenChange, SeenState } from '../types.js';
import type { Client, Database, Queryable } from './connection.js';
import type { Fence } from './fence.js';
import { recordJson } from './records.js';
import { SCHEMA } from './schema.js';

/** UIDLs per statement. */
const PER_INSERT = 5000;

async function saveCursor(client: Queryable, key: string, cursor: ImapCursor, slot = ''): Promise<void> {
  await client.query(
    `INSERT INTO ${SCHEMA}.imap_cursors (account_key, slot, cursor) VALUES ($1, $2, $3::jsonb)
     ON CONFLICT (account_key, slot) DO UPDATE SET cursor = EXCLUDED.cursor`,
    [key, slot, recordJson(cursor)],
  );
}

async function addUidls(client: Queryable, key: string, uidls: readonly string[]): Promise<void> {
  for (let i = 0; i < uidls.length; i += PER_INSERT) {
    await client.query(
      `INSERT INTO ${SCHEMA}.pop3_seen (account_key, uidl) SELECT $1, u FROM unnest($2::text[]) AS u ON CONFLICT DO NOTHING`,
      [key, uidls.slice(i, i + PER_INSERT)],
    );
  }
}

export class PgSeenState implements SeenState {
  constructor(
    private readonly db: Database,
    private readonly fence: Fence,
  ) {}

  async imapCursor(account: string, slot = ''): Promise<ImapCursor | undefined> {
    const { rows } = await this.db.query<{ cursor: Partial<ImapCursor> }>(`SELECT cursor FROM ${SCHEMA}.imap_cursors WHERE account_key = $1 AND slot = $2`, [
      account.toLowerCase(),
      slot,
    ]);
    return rows[0] ? imapCursorOf(rows[0].cursor) : undefined;
  }

  async saveImapCursor(account: string, cursor: ImapCursor, slot?: string): Promise<void> {
    await this.fenced(account, (client) => saveCursor(client, account.toLowerCase(), cursor, slot));
  }

  async pop3Seen(account: string): Promise<Set<string>> {
    const { rows } = await this.db.query<{ uidl: string }>(`SELECT uidl FROM ${SCHEMA}.pop3_seen WHERE account_key = $1`, [account.toLowerCase()]);
    return new Set(rows.map((r) => r.uidl));
  }

  async addPop3Seen(account: string, uidls: string[]): Promise<void> {
    if (uidls.length === 0) return;
    await this.fenced(account, (client) => addUidls(client, account.toLowerCase(), uidls));
  }

  async prunePop3Seen(account: string, present: ReadonlySet<string>): Promise<void> {
    await this.fenced(account, (client) =>
      client.query(`DELETE FROM ${SCHEMA}.pop3_seen WHERE account_key = $1 AND NOT (uidl = ANY($2::text[]))`, [account.toLowerCase(), [...present]]),
    );
  }

  async pop3Meta(account: string): Promise<Pop3Meta> {
    const { rows } = await this.db.query<{ meta: Partial<Pop3Meta> }>(`SELECT meta FROM ${SCHEMA}.pop3_meta WHERE account_key = $1`, [account.toLowerCase()]);
    return { tooLarge: rows[0]?.meta.tooLarge ?? {} };
  }

  async savePop3Meta(account: string, meta: Pop3Meta): Promise<void> {
    await this.fenced(account, (client) =>
      client.query(
        `INSERT INTO ${SCHEMA}.pop3_meta (account_key, meta) VALUES ($1, $2::jsonb) ON CONFLICT (account_key) DO UPDATE SET meta = EXCLUDED.meta`,
        [account.toLowerCase(), recordJson(meta)],
      ),
    );
  }

  /** A write of the reader's own, in a transaction that passes the fence first. */
  private async fenced(account: string, write: (client: Client) => Promise<unknown>): Promise<void> {
    await this.db.transaction(async (client) => {
      await this.fence.check(client, account);
      await write(client);
    });
  }

  /** What a committed batch changes, inside the batch's transaction. */
  apply(client: Client, account: string, change: SeenChange): Promise<void> {
    const key = account.toLowerCase();
    return 'imap' in change ? saveCursor(client, key, change.imap, change.slot) : addUidls(client, key, change.pop3);
  }
}
