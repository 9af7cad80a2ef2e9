// mailbox db migrate | db status: the PostgreSQL store's schema and state.
import type { Command } from 'commander';
import { MailboxError } from '../../core/errors.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';
import { localTime } from '../time.js';

/** The database these commands work on: --database, else MAILBOX_DATABASE_URL. */
function databaseOf(ctx: Context): string {
  if (ctx.store.database) return ctx.store.database;
  throw new MailboxError('EUSAGE', 'no database given: set MAILBOX_DATABASE_URL or pass --database postgres://USER@HOST/NAME');
}

async function migrateCommand(ctx: Context): Promise<void> {
  const { migrateDatabase } = await import('../../store/postgres/admin.js');
  const result = await migrateDatabase(databaseOf(ctx));
  const shown = { database: result.database.shown, version: result.version, applied: result.applied };
  ctx.out.data(shown, () => '');
  if (ctx.out.json) return;
  if (result.applied.length === 0) ctx.out.info(`database ${shown.database}: schema is up to date (version ${result.version})`);
  for (const m of result.applied) ctx.out.info(`database ${shown.database}: applied migration ${m.version} (${m.name})`);
}

async function setCommand(ctx: Context, name: string, value: string): Promise<void> {
  const { setDatabaseSetting } = await import('../../store/postgres/admin.js');
  const result = await setDatabaseSetting(databaseOf(ctx), name, value);
  ctx.out.data({ database: result.database.shown, name: result.name, value: result.value, previous: result.previous }, () => '');
  if (ctx.out.json) return;
  ctx.out.info(`database ${result.database.shown}: ${result.name} = ${result.value} (was ${JSON.stringify(result.previous)}); workers read it at their start: restart them`);
}

async function statusCommand(ctx: Context): Promise<void> {
  const { databaseStatus } = await import('../../store/postgres/admin.js');
  const status = await databaseStatus(databaseOf(ctx));
  const json = { ...status, database: { url: status.database.shown, host: status.database.host, port: status.database.port, name: status.database.database, user: status.database.user } };
  ctx.out.data(json, () => {
    const { schema, runner } = status;
    const schemaText =
      schema.version === 0
        ? 'not migrated: run mailbox db migrate'
        : schema.version > schema.latest
          ? `version ${schema.version}, newer than this mailbox knows (${schema.latest}): every other command refuses it (78); upgrade mailbox`
          : schema.pending.length
          ? `version ${schema.version} of ${schema.latest}: run mailbox db migrate`
          : `version ${schema.version} (up to date)`;
    const live = status.workers.filter((w) => w.alive);
    const runnerText = runner.running ? `${live.length} worker(s) running` : 'not running';
    const lines = [
      ['database', json.database.url],
      ['server', `PostgreSQL ${status.server.version}`],
      ['schema', schemaText],
      ['runner', runnerText],
      ...status.workers.map((w) => [
        'worker',
        `pid ${w.pid} on ${w.host}, since ${localTime(w.startedAt)}, heartbeat ${localTime(w.heartbeat)}${w.alive ? '' : ' (dead)'}, ${w.accounts} account(s)`,
      ]),
      ...status.settings.map((s) => [`setting`, `${s.name} = ${JSON.stringify(s.value)} (${s.description})${s.problem ? ` [out of range: ${JSON.stringify(s.inEffect)} is used]` : ''}`]),
    ];
    return lines.map(([k, v]) => `${k!.padEnd(9)} ${v}`).join('\n');
  });
}

export function register(db: Command, penv: ProgramEnv): void {
  db.addHelpText(
    'after',
    `
The database is MAILBOX_DATABASE_URL or --database (postgres://USER[:PASSWORD]@HOST[:PORT]/NAME; a
password is better kept in PGPASSWORD or ~/.pgpass than on a command line).

Examples:
  $ MAILBOX_DATABASE_URL=postgres://mailbox@db.internal/mailbox mailbox db migrate
  $ mailbox db status --json`,
  );
  db.command('migrate')
    .description('create or upgrade the schema (idempotent; safe to run from several machines at once)')
    .addHelpText('after', '\nJSON: {database, version, applied: [{version, name}]}\n\nExamples:\n  $ mailbox db migrate\n  $ mailbox --database postgres://mailbox@db.internal/mailbox db migrate')
    .action(action(penv, (ctx) => migrateCommand(ctx)));
  db.command('set')
    .argument('<name>', 'body_chunk_bytes, lease_seconds, claim_batch or worker_concurrency')
    .argument('<value>', 'a whole number in the setting\'s range (db status shows each with its meaning)')
    .description('change a setting of the database store (workers read the settings at their start)')
    .addHelpText(
      'after',
      '\nRanges: body_chunk_bytes 65536..67108864, lease_seconds 1..3600, claim_batch 1..10000, worker_concurrency 1..1000.\n\nJSON: {database, name, value, previous}\n\nExamples:\n  $ mailbox db set lease_seconds 30\n  $ mailbox db set worker_concurrency 32 --json',
    )
    .action(action(penv, (ctx, _o, [name, value]) => setCommand(ctx, name!, value!)));
  db.command('status')
    .description('show the server, the schema version, the workers and the settings')
    .addHelpText(
      'after',
      '\nJSON: {database: {url, host, port, name, user}, server: {version}, schema: {version, latest, pending, applied}, runner: {running, pid, host, startedAt}, workers: [{id, host, pid, startedAt, heartbeat, alive, accounts}], settings: [{name, value, inEffect, description, problem}]}\n\nExamples:\n  $ mailbox db status\n  $ mailbox db status --json',
    )
    .action(action(penv, (ctx) => statusCommand(ctx)));
}
