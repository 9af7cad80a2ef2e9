// mailbox migrate-store --to URL: the local store (accounts, filters, mail, queue, seen state, run
// status) copied into a PostgreSQL database, nothing fetched again; repeatable.
import type { Command } from 'commander';
import { MailboxError } from '../../core/errors.js';
import type { SecretStore } from '../../store/secrets.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';
import { isAlive } from '../stores.js';
import { planLines } from './apply.js';

interface MigrateFlags {
  to?: string;
}

/** A copy never changes the keychain: the entries stay where the local store's accounts name them. */
function keepingKeychain(secrets: SecretStore): SecretStore {
  return { ...secrets, remove: async () => undefined };
}

async function migrateCommand(ctx: Context, opts: MigrateFlags): Promise<void> {
  const to = opts.to ?? ctx.store.database;
  if (!to) throw new MailboxError('EUSAGE', 'missing --to postgres://USER@HOST/NAME (the database to copy the local store into)');
  const [{ openStores }, { openPostgresStores }, { migrateStore }, { loadProvisioned }] = await Promise.all([
    import('../../store/open.js'),
    import('../../store/postgres/index.js'),
    import('../../jobs/migrate-store.js'),
    import('../../store/config-store.js'),
  ]);
  const options = { clock: ctx.now, pid: process.pid, isAlive };
  const target = await openPostgresStores(to, options);
  const local = await openStores(ctx.paths, options).catch(async (err: unknown) => {
    await target.close();
    throw err;
  });
  try {
    const result = await migrateStore({
      from: local,
      to: { config: target.config, provisioned: () => loadProvisioned(ctx.paths.provisionedFile), secrets: keepingKeychain(ctx.secrets) },
      toStores: target,
      importer: target.importer,
      source: ctx.paths.configFile,
    });
    const { plan, emails, seen, status } = result;
    if (emails.missing.length) {
      ctx.out.warn(`${emails.missing.length} email(s) had no message file in the local store; their records were copied (${emails.missing.slice(0, 5).join(', ')}${emails.missing.length > 5 ? ', ...' : ''})`);
    }
    ctx.out.data({ to: target.db.name.shown, accounts: plan.accounts, filters: plan.filters, emails, seen, status }, () =>
      [
        ...planLines('account', plan.accounts),
        ...planLines('filter', plan.filters),
        `emails    ${emails.copied} copied, ${emails.present} there already${emails.missing.length ? `, ${emails.missing.length} without their message` : ''}`,
        ...seen.map((s) => `seen      ${s.account}: ${s.imap || s.folders ? `IMAP cursor ${s.imap ?? 'none'}${s.folders ? `, ${s.folders} other folder cursor(s) copied` : ''}` : `${s.pop3} UIDL(s) added`}`),
        `status    ${status} account(s) copied`,
      ].join('\n'),
    );
    ctx.out.info(`local store ${ctx.paths.configFile} copied into database ${target.db.name.shown}; set MAILBOX_DATABASE_URL to use it`);
  } finally {
    await Promise.all([local.close(), target.close()]);
  }
}

export function register(command: Command, penv: ProgramEnv): void {
  command
    .option('--to <url>', 'the PostgreSQL database (default: --database or $MAILBOX_DATABASE_URL); migrated first with mailbox db migrate')
    .addHelpText(
      'after',
      `
Copies the local store (under --home / MAILBOX_HOME) into the database: accounts and filters (as
mailbox apply does, keychain entries untouched), every email with its message byte for byte, the
queue, the seen state and the run status. Nothing is fetched again. What the database has already is
kept: running it again copies only what is missing. No runner may work on either store meanwhile.

JSON: {to, accounts: [{name, action, changes}], filters: [...], emails: {copied, present, missing}, seen: [{account, imap, folders, pop3}], status}

Examples:
  $ mailbox db migrate --database postgres://mailbox@db.internal/mailbox
  $ mailbox migrate-store --to postgres://mailbox@db.internal/mailbox`,
    )
    .action(action<MigrateFlags>(penv, migrateCommand));
}
