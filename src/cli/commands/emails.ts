// mailbox emails [show ID | retry ID]: the email log, filtered by box, account and state.
import type { Command } from 'commander';
import { BOXES, boxOf, EMAIL_STATES, type Box } from '../../core/email.js';
import { MailboxError, invalid } from '../../core/errors.js';
import { oneOf } from '../../core/validate.js';
import type { EmailRecord } from '../../store/types.js';
import { action, type ProgramEnv } from '../action.js';
import { table } from '../printer.js';
import { openCommandStores } from '../stores.js';

/** The JSON shape of an email in `emails --json`, `send --json`, `emails show --json`. */
export function emailJson(r: EmailRecord, path: string | null) {
  return {
    id: r.id,
    state: r.state,
    account: r.account,
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
  rows.push(['sent to', d.sentTo.join(', ') || '-']);
  for (const x of d.dropped) rows.push(['dropped', `${x.address} (filter ${x.filter}${x.pattern ? `, pattern ${x.pattern}` : ''})`]);
  for (const x of d.refused) rows.push(['refused', `${x.address}: ${x.reply}`]);
  return rows;
}

/** An id or a unique prefix of one. */
export function findRecord(records: Map<string, EmailRecord>, id: string): EmailRecord {
  const exact = records.get(id);
  if (exact) return exact;
  const matches = [...records.values()].filter((r) => r.id.startsWith(id));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new MailboxError('EVALUE', `id ${JSON.stringify(id)} matches ${matches.length} emails: give more of it`, { field: 'id' });
  throw new MailboxError('ENOTFOUND', `no email with id ${JSON.stringify(id)}`, { hint: 'mailbox emails lists the emails and their ids' });
}

function short(text: string | null, width: number): string {
  const t = (text ?? '').replace(/\s+/g, ' ');
  return t.length > width ? `${t.slice(0, width - 1)}…` : t;
}

interface ListOptions {
  box?: string;
  account?: string;
  state?: string;
  limit?: string;
}

export function register(emails: Command, penv: ProgramEnv): void {
  emails
    .option('--box <box>', `only this box (${BOXES.join(', ')})`)
    .option('--account <name>', 'only emails of this account')
    .option('--state <state>', `only this state (${EMAIL_STATES.join(', ')})`)
    .option('--limit <n>', 'at most N emails, newest first')
    .addHelpText(
      'after',
      `
JSON fields: id, state, account, date, from, to, subject, size, attempts, nextAttempt, error, path,
and for a message tried: sentTo (the envelope the server accepted), dropped (blocked by the outbound
filter: address, filter, pattern), refused (by the server: address, reply); null before a try.

Examples:
  $ mailbox emails --box outbox
  $ mailbox emails --state send-failed --json
  $ mailbox emails --account work-imap --limit 20
  $ mailbox emails show lx2k9a0b01abcde
  $ mailbox emails retry lx2k9a0b01abcde`,
    )
    .action(
      action<ListOptions>(penv, async (ctx, opts) => {
        const box = opts.box === undefined ? undefined : (oneOf(opts.box, 'box', BOXES) as Box);
        const state = opts.state === undefined ? undefined : oneOf(opts.state, 'state', EMAIL_STATES);
        let limit = Infinity;
        if (opts.limit !== undefined) {
          limit = Number(opts.limit);
          if (!Number.isInteger(limit) || limit < 1) throw invalid('limit', opts.limit, 'a whole number of at least 1');
        }
        const account = opts.account?.toLowerCase();
        const store = await openCommandStores(ctx);
        const records = [...(await store.log.readAll()).values()]
          .filter((r) => (!box || boxOf(r) === box) && (!state || r.state === state) && (!account || r.account?.toLowerCase() === account))
          .sort((a, b) => b.id.localeCompare(a.id)) // ids start with their creation time
          .slice(0, limit);
        const shown = await Promise.all(records.map(async (r) => emailJson(r, await store.mail.filePath(r))));
        ctx.out.data(shown, () =>
          shown.length === 0
            ? ''
            : table(
                ['ID', 'STATE', 'ACCOUNT', 'DATE', 'FROM', 'TO', 'SIZE', 'TRIES', 'SUBJECT'],
                shown.map((e) => [
                  e.id,
                  e.state,
                  e.account ?? '-',
                  e.date ? e.date.slice(0, 16).replace('T', ' ') : '-',
                  short(e.from, 28) || '-',
                  short(e.to.join(','), 28) || '-',
                  String(e.size),
                  String(e.attempts),
                  short(e.subject, 40),
                ]),
              ),
        );
        if (shown.length === 0 && !ctx.out.json) ctx.out.info('no emails');
      }),
    );

  emails
    .command('show')
    .description('show one email: its record, its headers and where the raw file is')
    .argument('<id>', 'email id (or a unique prefix)')
    .addHelpText('after', '\nExamples:\n  $ mailbox emails show lx2k9a0b01abcde\n  $ mailbox emails show lx2k9a --json')
    .action(
      action(penv, async (ctx, _opts, [id]) => {
        const store = await openCommandStores(ctx);
        const record = findRecord(await store.log.readAll(), id!);
        const [path, head] = await Promise.all([store.mail.filePath(record), store.mail.head(record)]);
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
          headers,
        };
        ctx.out.data(json, () => {
          const lines = [
            ['id', record.id],
            ['state', record.state],
            ['account', record.account ?? '-'],
            ['size', String(record.size)],
            ['attempts', String(record.attempts)],
            ['next attempt', record.nextAttempt ?? '-'],
            ['error', record.error ?? '-'],
            ['reply', record.reply ?? '-'],
            ['source', record.source ?? '-'],
            ...envelopeRows(record),
            ['file', path ?? '(missing)'],
          ].map(([k, v]) => `${k!.padEnd(13)} ${v}`);
          const head = headers.map((h) => `${h.name}: ${h.value}`);
          return [...lines, '', ...head].join('\n');
        });
      }),
    );

  emails
    .command('retry')
    .description('put a failed (or waiting) outgoing message back in the queue, to be sent next cycle')
    .argument('<id>', 'email id (or a unique prefix)')
    .addHelpText('after', '\nExamples:\n  $ mailbox emails retry lx2k9a0b01abcde\n  $ mailbox emails --state send-failed --json   # find the ids')
    .action(
      action(penv, async (ctx, _opts, [id]) => {
        const store = await openCommandStores(ctx);
        const record = findRecord(await store.log.readAll(), id!);
        const updated = await store.queue.requeue(record.id, ctx.now());
        ctx.out.data(emailJson(updated, await store.mail.filePath(updated)), () => `${updated.id} is queued again (send-ready)`);
      }),
    );
}
