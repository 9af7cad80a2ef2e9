// Moving to another store (`mailbox migrate-store`): the accounts and filters, the email log with the
// messages themselves, the seen state and the run status of one store copied into another, without
// fetching anything again. Both stores' run locks are held throughout, and the source is first repaired
// as a runner start would (recover). Repeating it copies only what is missing, so a copy that stopped
// half-way is finished by running it again.
import type { AccountsDocument } from '../core/config.js';
import type { ApplyPlan } from '../core/plan.js';
import { applyDocument } from './accounts/apply.js';
import type { AccountStores } from './accounts/stores.js';
import { isPattern } from '../core/imap-folders.js';
import type { Account } from '../core/account.js';
import type { ImportedMessage, SeenImport, SeenImported, StoreImport } from '../store/import.js';
import type { EmailRecord, Stores } from '../store/types.js';

/** Messages per transaction of the target, bounded by count and by bytes. */
const GROUP_MESSAGES = 200;
const GROUP_BYTES = 64 * 1024 * 1024;

export interface MigrateStoreResult {
  plan: ApplyPlan;
  emails: { copied: number; present: number; missing: string[] };
  seen: Array<{ account: string } & SeenImported>;
  status: number;
}

export interface MigrateStoreDeps {
  from: Stores;
  /** The target's account stores (its config; secrets: the keychain is never changed by a copy). */
  to: AccountStores;
  toStores: Stores;
  importer: StoreImport;
  /** Where the source's config is, for the plan's messages. */
  source: string;
}

export async function migrateStore(deps: MigrateStoreDeps): Promise<MigrateStoreResult> {
  const { from, toStores } = deps;
  const sourceLock = await from.lock.acquire();
  try {
    const targetLock = await toStores.lock.acquire();
    try {
      return await copy(deps);
    } finally {
      await targetLock.release();
    }
  } finally {
    await sourceLock.release();
  }
}

async function copy({ from, to, importer, source }: MigrateStoreDeps): Promise<MigrateStoreResult> {
  const [config, provisioned] = await Promise.all([from.config.load(), to.provisioned()]);
  const incoming = [...config.accounts, ...provisioned.accounts].filter((a) => a.type !== 'smtp');
  // What a stop left in the source is repaired first, as at a runner's start.
  await from.recover(incoming);

  // Profiles before the accounts that name them, and the operating settings (pause, redirect...): all of the config.
  const doc: AccountsDocument = { accounts: config.accounts, filters: config.filters, ...(config.oauthProfiles?.length ? { oauthProfiles: config.oauthProfiles } : {}), ...(config.settings ? { settings: config.settings } : {}) };
  const { plan } = await applyDocument(to, doc, { prune: false, dryRun: false, source });
  const choices = Object.entries(config.provisionedActive);
  if (choices.length) {
    await to.config.update((current) => {
      const missing = choices.filter(([name]) => !(name in current.provisionedActive));
      return { config: missing.length ? { ...current, provisionedActive: { ...current.provisionedActive, ...Object.fromEntries(missing) } } : undefined, result: undefined };
    });
  }

  const emails = await copyEmails(from, importer);
  const seen: MigrateStoreResult['seen'] = [];
  for (const account of incoming) {
    const state = account.type === 'imap' ? await imapSeen(from, account) : { pop3: [...(await from.seen.pop3Seen(account.name))], pop3Meta: await from.seen.pop3Meta(account.name) };
    if (!state.imap && !state.imapFolders?.length && !state.pop3?.length) continue;
    seen.push({ account: account.name, ...(await importer.importSeen(account.name, state)) });
  }
  const status = await importer.importStatus(await from.status.load());
  return { plan, emails, seen, status };
}

/**
 * An IMAP account's cursors: its own folder's, and those of the other folders it read (the own cursor
 * lists those of the last cycle; named folders are looked up too, in case one was left out lately).
 * Without them a runner on the target would fetch those folders' messages again.
 */
async function imapSeen(from: Stores, account: Account): Promise<SeenImport> {
  const own = account.folder ?? 'INBOX';
  const imap = await from.seen.imapCursor(account.name);
  const named = (account.folders ?? []).filter((f) => !isPattern(f));
  const slots = [...new Set([...(imap?.folders ?? []), ...named])].filter((f) => f !== own);
  const imapFolders: SeenImport['imapFolders'] = [];
  for (const slot of slots) {
    const cursor = await from.seen.imapCursor(account.name, slot);
    if (cursor) imapFolders.push({ slot, cursor });
  }
  return { imap, imapFolders };
}

/** The email log in its order, a group at a time; bodies streamed from the source as they are written. */
async function copyEmails(from: Stores, importer: StoreImport): Promise<MigrateStoreResult['emails']> {
  const records = [...(await from.log.readAll()).values()];
  const result = { copied: 0, present: 0, missing: [] as string[] };
  for (let start = 0; start < records.length; ) {
    const group: EmailRecord[] = [];
    let bytes = 0;
    while (start < records.length && group.length < GROUP_MESSAGES && (group.length === 0 || bytes + records[start]!.size <= GROUP_BYTES)) {
      bytes += records[start]!.size;
      group.push(records[start++]!);
    }
    const present = await importer.presentIds(group.map((r) => r.id));
    const wanted = group.filter((r) => !present.has(r.id));
    result.present += present.size;
    const messages: ImportedMessage[] = [];
    try {
      for (const record of wanted) {
        const body = await from.mail.read(record);
        if (!body) result.missing.push(record.id);
        messages.push({ record: body ? record : withoutBody(record), body });
      }
      const kept = await importer.importMessages(messages);
      result.copied += kept.length;
      result.present += wanted.length - kept.length;
    } finally {
      for (const m of messages) m.body?.destroy();
    }
  }
  return result;
}

/** A message whose bytes are gone: kept as a record; one waiting to be sent fails rather than go out empty. */
function withoutBody(record: EmailRecord): EmailRecord {
  if (record.state !== 'send-ready' && record.state !== 'send-retry-backoff') return record;
  return { ...record, state: 'send-failed', error: 'the message file is missing from the outbox', inFlight: null, nextAttempt: null };
}
