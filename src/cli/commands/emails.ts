// mailbox emails [show ID | retry ID]: the email log, filtered by box, account and state.
import type { Command } from 'commander';
import { BOXES, boxOf, EMAIL_STATES, type Box } from '../../core/email.js';
import { MailboxError, shown } from '../../core/errors.js';
import { oneOf, parseCount } from '../../core/validate.js';
import { guardOf } from '../../core/guards.js';
import { parseAge, settingsOf } from '../../core/settings.js';
import type { EmailRecord } from '../../store/types.js';
import { registerExport } from './emails-export.js';
import { action, type ProgramEnv } from '../action.js';
import { formatBytes } from '../account-json.js';
import type { Context } from '../context.js';
import { printContent, wantsContent, type ContentOptions } from '../email-content.js';
import { uniquePrefixes } from '../short-ids.js';
import { openCommandStores } from '../stores.js';
import { localTime } from '../time.js';

/** The JSON shape of an email in `emails --json`, `send --json`, `emails show --json`. */
export function emailJson(r: EmailRecord, path: string | null) {
  return {
    id: r.id,
    state: r.state,
    account: r.account,
    folder: r.folder ?? null,
    date: r.date,
    from: r.from,
    to: r.to,
    subject: r.subject,
    size: r.size,
    attempts: r.attempts,
    nextAttempt: r.nextAttempt,
    error: r.error,
    path,
    ...deliveryJson(r),
    delivery: r.handoff ? { dest: r.handoff.dest, state: r.handoff.state, attempts: r.handoff.attempts, error: r.handoff.error, nextAttempt: r.handoff.nextAttempt } : null,
  };
}

/** Outgoing, once tried: the envelope the server accepted, and the recipients dropped or refused (null before). */
function deliveryJson(r: EmailRecord) {
  const d = r.delivery;
  return { sentTo: d?.sentTo ?? null, dropped: d?.dropped ?? null, refused: d?.refused ?? null };
}

/** `emails show` lines for an outgoing message's envelope: as queued, as sent, and who was left out. */
function envelopeRows(r: EmailRecord): string[][] {
  const rows = [['recipients', r.recipients?.join(', ') ?? '-']];
  const d = r.delivery;
  if (!d) return rows;
  rows[0]![0] = 'queued for';
  rows.push(['sent to', `${d.sentTo.join(', ') || '-'}${d.redirectedTo ? ' (test redirect: redirect-to was set; the header X-Mailbox-Original-Recipients names the recipients)' : ''}`]);
  for (const x of d.dropped) rows.push(['dropped', `${x.address} (filter ${x.filter}${x.pattern ? `, pattern ${x.pattern}` : ''})`]);
  for (const x of d.refused) rows.push(['refused', `${x.address}: ${x.reply}`]);
  return rows;
}

/** A received message's hand-off (issue 13) on one line: where, how far, and why not yet. */
function handOffText(r: EmailRecord): string {
  const h = r.handoff!;
  const tries = `${h.attempts} attempt${h.attempts === 1 ? '' : 's'}`;
  const when = h.state === 'pending' && h.nextAttempt ? `, next ${localTime(h.nextAttempt)}` : '';
  return `${h.state} to ${h.dest} (${tries}${when})${h.error ? `: ${h.error}` : ''}`;
}

/** An id or a unique prefix of one. */
export function findRecord(records: Map<string, EmailRecord>, id: string): EmailRecord {
  const exact = records.get(id);
  if (exact) return exact;
  const matches = [...records.values()].filter((r) => r.id.startsWith(id));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new MailboxError('EVALUE', `id ${shown(id)} matches ${matches.length} emails: give more of it`, { field: 'id' });
  throw new MailboxError('ENOTFOUND', `no email with id ${shown(id)}`, { hint: 'mailbox emails lists the emails and their ids' });
}

/** A cell on one line: header values may hold folded whitespace. */
function cell(text: string | null | undefined): string {
  return (text ?? '').replace(/\s+/g, ' ').trim() || '-';
}

/** On a terminal, without --limit or --all, the list stops at the newest this many. */
const TERMINAL_PAGE = 50;

interface ListOptions {
  box?: string;
  account?: string;
  state?: string;
  limit?: string;
  all?: boolean;
}

/** How many to show: --limit N, --all, else every one for scripts and the newest 50 on a terminal. */
function listLimit(ctx: Context, opts: ListOptions): { limit: number; paged: boolean } {
  if (opts.limit !== undefined && opts.all) throw new MailboxError('EUSAGE', 'choose one of --limit N or --all');
  if (opts.limit !== undefined) {
    return { limit: parseCount(opts.limit, 'limit'), paged: false };
  }
  const paged = !opts.all && ctx.out.width !== undefined;
  return { limit: paged ? TERMINAL_PAGE : Infinity, paged };
}

async function listEmails(ctx: Context, opts: ListOptions): Promise<void> {
  const box = opts.box === undefined ? undefined : (oneOf(opts.box, 'box', BOXES) as Box);
  const state = opts.state === undefined ? undefined : oneOf(opts.state, 'state', EMAIL_STATES);
  const { limit, paged } = listLimit(ctx, opts);
  const account = opts.account?.toLowerCase();
  const store = await openCommandStores(ctx);
  const all = await store.log.readAll();
  const matching = [...all.values()]
    .filter((r) => (!box || boxOf(r) === box) && (!state || r.state === state) && (!account || r.account?.toLowerCase() === account))
    .sort((a, b) => b.id.localeCompare(a.id)); // ids start with their creation time: newest first
  const records = matching.slice(0, limit);
  const shown = await Promise.all(records.map(async (r) => emailJson(r, await store.mail.filePath(r))));
  // Shortened only where people read them; the prefixes are unique in the whole log, so they work as ids.
  const ids = ctx.out.width === undefined ? undefined : uniquePrefixes(all.keys());
  ctx.out.data(shown, () =>
    ctx.out.table(
      [
        { header: 'ID' },
        { header: 'STATE' },
        { header: 'ACCOUNT', shrink: true, min: 8, drop: 2 },
        { header: 'ARRIVED' },
        { header: 'FROM', shrink: true },
        { header: 'TO', shrink: true, drop: 3 },
        { header: 'SIZE', right: true, drop: 1 },
        { header: 'TRIES', right: true, drop: 0 },
        { header: 'SUBJECT', shrink: true },
      ],
      records.map((r) => [
        ids?.get(r.id) ?? r.id,
        r.state,
        cell(r.account),
        localTime(r.createdAt),
        cell(r.from),
        cell(r.to.join(', ')),
        formatBytes(r.size),
        String(r.attempts),
        cell(r.subject),
      ]),
    ),
  );
  if (ctx.out.json) return;
  if (matching.length === 0) ctx.out.info('no emails');
  else if (paged && matching.length > records.length) {
    ctx.out.info(`the newest ${records.length} of ${matching.length} emails: --limit N shows more, --all shows every one`);
  }
}

export function register(emails: Command, penv: ProgramEnv): void {
  emails
    .option('--box <box>', `only this box (${BOXES.join(', ')})`)
    .option('--account <name>', 'only emails of this account')
    .option('--state <state>', `only this state (${EMAIL_STATES.join(', ')})`)
    .option('--limit <n>', `at most N emails, newest first (on a terminal: ${TERMINAL_PAGE} unless --all)`)
    .option('--all', 'every email, also on a terminal')
    .addHelpText(
      'after',
      `
Text: ids shortened on a terminal to a unique prefix (any unique prefix is accepted), the time each
email arrived in the store (local time), sizes for people. JSON fields: id, state, account, folder
(the IMAP folder it was read from, else null), date
(the Date header), from, to, subject, size (bytes), attempts, nextAttempt, error, path, and for a
message tried: sentTo (the envelope the server accepted), dropped (blocked by the outbound filter:
address, filter, pattern), refused (by the server: address, reply); null before a try. A received
message of an account with a destination (add --deliver) has delivery: {dest, state (pending,
delivered, failed), attempts, error, nextAttempt}; null otherwise.

Examples:
  $ mailbox emails --box outbox
  $ mailbox emails --state send-failed --json
  $ mailbox emails --account work-imap --limit 20
  $ mailbox emails show lx2k9a0b01abcde
  $ mailbox emails retry lx2k9a0b01abcde`,
    )
    .action(action<ListOptions>(penv, listEmails));

  emails
    .command('show')
    .description('show one email: its record, its headers and where the raw file is; or the message itself')
    .argument('<id>', 'email id (or a unique prefix)')
    .option('--raw', 'write the message to stdout exactly as stored, byte for byte')
    .option('--body', 'write its text part to stdout, decoded (the HTML part when it has no text part)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ mailbox emails show lx2k9a0b01abcde\n  $ mailbox emails show lx2k9a --json\n  $ mailbox emails show lx2k9a --body | less\n  $ mailbox emails show lx2k9a --raw > message.eml',
    )
    .action(
      action<ContentOptions>(penv, async (ctx, opts, [id]) => {
        const content = wantsContent(ctx, opts);
        const store = await openCommandStores(ctx);
        const record = findRecord(await store.log.readAll(), id!);
        if (content) return printContent(ctx, store.mail, record, opts);
        const [path, head, { config }] = await Promise.all([store.mail.filePath(record), store.mail.head(record), ctx.snapshot()]);
        const settings = settingsOf(config.settings);
        const { parseHeaderFields, decodeWords } = await import('../../store/message-headers.js');
        const headers = head ? parseHeaderFields(head).map(([name, value]) => ({ name, value: decodeWords(value) })) : [];
        const json = {
          ...emailJson(record, path),
          cc: record.cc,
          messageId: record.messageId,
          source: record.source,
          recipients: record.recipients ?? null,
          reply: record.reply ?? null,
          createdAt: record.createdAt,
          updatedAt: record.updatedAt,
          guard: guardOf(record.error),
          redirectedTo: record.delivery?.redirectedTo ?? null,
          redirectOn: settings.redirectTo,
          headers,
        };
        ctx.out.data(json, () => {
          const lines = [
            ['id', record.id],
            ['state', record.state],
            ['account', record.account ?? '-'],
            ['arrived', localTime(record.createdAt)],
            ['date', localTime(record.date)],
            ['size', `${formatBytes(record.size)} (${record.size} bytes)`],
            ['attempts', String(record.attempts)],
            ['next attempt', localTime(record.nextAttempt)],
            ['error', record.error ?? '-'],
            ...(guardOf(record.error) ? [['decided by', `the inbound guard ${guardOf(record.error)} (setting guard-${guardOf(record.error)})`]] : []),
            ['reply', record.reply ?? '-'],
            ['source', record.source ?? '-'],
            ...(record.folder ? [['folder', record.folder]] : []),
            ...(record.handoff ? [['hand-off', handOffText(record)]] : []),
            ...envelopeRows(record),
            ['file', path ?? (headers.length ? '(none: the message is kept in the database)' : '(missing)')],
          ].map(([k, v]) => `${k!.padEnd(13)} ${v}`);
          const head = headers.map((h) => `${h.name}: ${h.value}`);
          const redirect = settings.redirectTo && boxOf(record) === 'outbox' ? [`note: redirect-to is set: this message will go to ${settings.redirectTo} only`] : [];
          return [...lines, ...redirect, '', ...head].join('\n');
        });
      }),
    );

  emails
    .command('prune')
    .description('remove old emails for good: their records and stored files together (never queued or in-flight mail)')
    .requiredOption('--older-than <age>', 'only emails whose last change is older than this (30d, 12h, 2w)')
    .option('--box <box>', `only this box (${BOXES.filter((b) => b !== 'outbox').join(', ')})`)
    .option('--state <state>', 'only this state')
    .option('--dry-run', 'list what would be removed, remove nothing')
    .addHelpText(
      'after',
      `
The age is that of the email's last change (a sent email ages from when it was sent). The setting
retention (mailbox settings set retention sent=90d,skipped=30d) makes the runner do this once a day.
JSON: {dryRun, removed, emails: [{id, state, account, subject, updatedAt}]}

Examples:
  $ mailbox emails prune --older-than 90d --box sent --dry-run
  $ mailbox emails prune --older-than 30d --box skipped --json`,
    )
    .action(
      action<{ olderThan: string; box?: string; state?: string; dryRun?: boolean }>(penv, async (ctx, opts) => {
        const olderThanMs = parseAge(opts.olderThan, 'older-than', 1000);
        const box = opts.box === undefined ? undefined : oneOf(opts.box, 'box', BOXES.filter((b) => b !== 'outbox'));
        const state = opts.state === undefined ? undefined : oneOf(opts.state, 'state', EMAIL_STATES.filter((st) => boxOf({ state: st }) !== 'outbox'));
        const { prune, describePruned } = await import('../../jobs/retention.js');
        const store = await openCommandStores(ctx);
        const rule = { olderThanMs, ...(box ? { boxes: [box] } : {}), ...(state ? { states: [state] } : {}) };
        // Both given: the state must also be in the box.
        const result = await prune(store, [rule], ctx.now(), Boolean(opts.dryRun), box && state ? (r) => boxOf(r) === box && r.state === state : undefined);
        const emails = result.removed.map((r) => ({ id: r.id, state: r.state, account: r.account, subject: r.subject, updatedAt: r.updatedAt }));
        ctx.out.data({ dryRun: result.dryRun, removed: emails.length, emails }, () => emails.map((e) => `${e.id}  ${e.state.padEnd(16)} ${localTime(e.updatedAt)}  ${e.subject ?? ''}`).join('\n'));
        ctx.out.info(`${result.dryRun ? 'would remove' : 'removed'} ${describePruned(result.removed)}`);
      }),
    );

  emails
    .command('retry')
    .description('put a failed (or waiting) outgoing message back in the queue, to be sent next cycle; or hand a delivery-failed received message to its destination again')
    .argument('<id>', 'email id (or a unique prefix)')
    .addHelpText('after', '\nExamples:\n  $ mailbox emails retry lx2k9a0b01abcde\n  $ mailbox emails --state send-failed --json   # find the ids')
    .action(
      action(penv, async (ctx, _opts, [id]) => {
        const store = await openCommandStores(ctx);
        const record = findRecord(await store.log.readAll(), id!);
        // A received message whose hand-off failed (issue 13) goes back to pending; the runner's next cycle hands it off.
        if (record.handoff) {
          const updated = await store.handoffs.retry(record.id, ctx.now());
          ctx.out.data(emailJson(updated, await store.mail.filePath(updated)), () => `${updated.id} will be handed off to ${updated.handoff!.dest} again at the next read cycle`);
          return;
        }
        const updated = await store.queue.requeue(record.id, ctx.now());
        ctx.out.data(emailJson(updated, await store.mail.filePath(updated)), () => `${updated.id} is queued again (send-ready)`);
      }),
    );

  registerExport(emails, penv);
}
