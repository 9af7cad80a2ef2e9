// Moving to another store (`mailbox migrate-store`): the accounts and filters, the email log with the
// messages themselves, the seen state and the run status of one store copied into another, without
// fetching anything again. Both stores' run locks are held throughout, and the source is first repaired
// as a runner start would (recover). Repeating it copies only what is missing, so a copy that stopped
// half-way is finished by running it again.
import type { AccountsDocument } from '../core/config.js';
import type { ApplyPlan } from '../core/plan.js';
import { applyDocument } from './accounts/apply.js';
import type { AccountStores } from './accounts/stores.js';
import type { ImportedMessage, StoreImport } from '../store/import.js';
import type { EmailRecord, Stores } from '../store/types.js';

/** Messages per transaction of the target, bounded by count and by bytes. */
const GROUP_MESSAGES = 200;
const GROUP_BYTES = 64 * 1024 * 1024;

export interface MigrateStoreResult {
  plan: ApplyPlan;
  emails: { copied: number; present: number; missing: string[] };
  seen: Array<{ account: string; imap: 'copied' | 'kept' | null; pop3: number }>;
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
  onProgress?: (done: number, total: number) => void;
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

async function copy({ from, to, importer, source, onProgress }: MigrateStoreDeps): Promise<MigrateStoreResult> {
  const [config, provisioned] = await Promise.all([from.config.load(), to.provisioned()]);
  const incoming = [...config.accounts, ...provisioned.accounts].filter((a) => a.type !== 'smtp');
  // What a stop left in the source is repaired first, as at a runner's start.
  await from.recover(incoming);

  const doc: AccountsDocument = { accounts: config.accounts, filters: config.filters };
  const { plan } = await applyDocument(to, doc, { prune: false, dryRun: false, source });
  const choices = Object.entries(config.provisionedActive);
  if (choices.length) {
    await to.config.update((current) => {
      const missing = choices.filter(([name]) => !(name in current.provisionedActive));
      return { config: missing.length ? { ...current, provisionedActive: { ...current.provisionedActive, ...Object.fromEntries(missing) } } : undefined, result: undefined };
    });
  }

  const emails = await copyEmails(from, importer, onProgress);
  const seen: MigrateStoreResult['seen'] = [];
  for (const account of incoming) {
    const imap = account.type === 'imap' ? await from.seen.imapCursor(account.name) : undefined;
    const pop3 = account.type === 'pop3' ? [...(await from.seen.pop3Seen(account.name))] : undefined;
    const pop3Meta = account.type === 'pop3' ? await from.seen.pop3Meta(account.name) : undefined;
    if (!imap && !pop3?.length) continue;
    seen.push({ account: account.name, ...(await importer.importSeen(account.name, { imap, pop3, pop3Meta })) });
  }
  const status = await importer.importStatus(await from.status.load());
  return { plan, emails, seen, status };
}

/** The email log in its order, a group at a time; bodies streamed from the source as they are written. */
async function copyEmails(from: Stores, importer: StoreImport, onProgress?: (done: number, total: number) => void): Promise<MigrateStoreResult['emails']> {
  const records = [...(await from.log.readAll()).values()];
  const result = { copied: 0, present: 0, missing: [] as string[] };
  let done = 0;
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
    done += group.length;
    onProgress?.(done, records.length);
  }
  return result;
}

/** A message whose bytes are gone: kept as a record; one waiting to be sent fails rather than go out empty. */
function withoutBody(record: EmailRecord): EmailRecord {
  if (record.state !== 'send-ready' && record.state !== 'send-retry-backoff') return record;
  return { ...record, state: 'send-failed', error: 'the message file is missing from the outbox', inFlight: null, nextAttempt: null };
}
