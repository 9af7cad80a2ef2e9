// mailbox send: builds a message (or takes a complete one) and queues it in the outbox as send-ready.
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { MailboxError, invalid } from '../../core/errors.js';
import { parseAddress } from '../../core/account.js';
import { settingsOf } from '../../core/settings.js';
import { evaluateFilter, type AddressFilter } from '../../core/filter.js';
import { findFilter } from '../../core/rules.js';
import { isAddress } from '../../core/validate.js';
import { action, collect, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';
import { openCommandStores } from '../stores.js';
import { emailJson } from './emails.js';

type Headers = typeof import('../../store/message-headers.js');

interface SendOptions {
  to?: string[];
  cc?: string[];
  bcc?: string[];
  from?: string;
  subject?: string;
  text?: string;
  htmlFile?: string;
  file?: string;
}

function addressList(values: string[] | undefined, field: string): string[] {
  const out: string[] = [];
  for (const value of values ?? []) {
    for (const part of value.split(',').map((v) => v.trim()).filter(Boolean)) {
      if (!isAddress(part)) throw invalid(field, part, 'an email address such as ops@example.com');
      out.push(part);
    }
  }
  return out;
}

/**
 * The active SMTP account, if any: it sends the queue and gives built messages their From; and the
 * outbound filter the sender will apply (its own, else the default one).
 */
async function activeSmtp(ctx: Context) {
  const { accounts, filters, config } = await ctx.snapshot();
  const smtp = accounts.find((a) => a.type === 'smtp' && a.active);
  const { redirectTo, sendingPaused } = settingsOf(config.settings);
  // A filter it names that is missing or faces inbound is the runner's to refuse; nothing to warn by here.
  const named = smtp?.filter ? findFilter(filters, smtp.filter) : filters.find((f) => f.direction === 'outbound' && f.default);
  return { smtp, filter: named?.direction === 'outbound' ? named : undefined, redirectTo, sendingPaused };
}

/** The sender drops blocked recipients without a word to the one who queued: say it now. */
function warnBlocked(ctx: Context, filter: AddressFilter | undefined, recipients: readonly string[]): void {
  if (!filter) return;
  const blocked = recipients.flatMap((address) => {
    const decision = evaluateFilter(filter, address);
    return decision.blocked ? [{ address, pattern: decision.decidedBy!.pattern }] : [];
  });
  for (const { address, pattern } of blocked) {
    ctx.out.warn(`${address} will be dropped when the message is sent: the outbound filter ${filter.name} blocks it (deny pattern ${pattern})`);
  }
  if (blocked.length > 0 && blocked.length === recipients.length) ctx.out.warn('no recipient is left: the message will not be sent (it will be skipped, as send-ignored)');
}

/**
 * A complete message as given (--file, sendmail), its header block rewritten by `rewrite` (Bcc removed,
 * as `sendmail -t` does; sendmail adds a missing From); the rest streams through untouched. Resolves
 * `header` with the ORIGINAL header block.
 */
export function withHeaderRewritten(source: AsyncIterable<Buffer>, headerEnd: Headers['headerEnd'], rewrite: (block: Buffer) => Buffer): { stream: AsyncIterable<Buffer>; header: Promise<Buffer> } {
  let resolveHeader!: (b: Buffer) => void;
  const header = new Promise<Buffer>((r) => (resolveHeader = r));
  async function* run(): AsyncGenerator<Buffer> {
    const held: Buffer[] = [];
    let passing = false;
    for await (const raw of source) {
      const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as Uint8Array);
      if (passing) {
        yield chunk;
        continue;
      }
      held.push(chunk);
      const all = Buffer.concat(held);
      const end = headerEnd(all);
      if (end >= 0 || all.length >= 256 * 1024) {
        const block = all.subarray(0, end >= 0 ? end : all.length);
        resolveHeader(block);
        yield rewrite(block);
        if (end >= 0 && end < all.length) yield all.subarray(end);
        passing = true;
        held.length = 0;
      }
    }
    if (!passing) {
      const all = Buffer.concat(held);
      resolveHeader(all);
      yield rewrite(all);
    }
  }
  return { stream: run(), header };
}

/** The active SMTP account and its outbound filter, for the commands that queue (send, sendmail). */
export { activeSmtp, warnBlocked };

export function register(command: Command, penv: ProgramEnv): void {
  command
    .option('--to <addr>', 'recipient (repeat, or comma-separated)', collect)
    .option('--cc <addr>', 'copy recipient (repeat)', collect)
    .option('--bcc <addr>', 'blind copy recipient (repeat)', collect)
    .option('--from <addr>', 'From: an address, or "Name <address>" (default: the active SMTP account\'s from)')
    .option('--subject <text>', 'subject')
    .option('--text <text>', 'plain-text body')
    .option('--html-file <file>', 'HTML body read from FILE')
    .option('--file <message.eml>', 'queue a complete RFC 5322 message as is ("-" reads stdin); recipients from --to/--cc/--bcc, else its To/Cc/Bcc')
    .addHelpText(
      'after',
      `
Prints the id of the queued message (see: mailbox emails show ID).

Examples:
  $ mailbox send --to ops@example.com --subject "disk full" --text "on host db1"
  $ mailbox send --to a@example.com --cc b@example.com --subject Report --html-file report.html
  $ mailbox send --file message.eml
  $ some-report | mailbox send --file - --json`,
    )
    .action(
      action<SendOptions>(penv, async (ctx, opts) => {
        const to = addressList(opts.to, 'to');
        const cc = addressList(opts.cc, 'cc');
        const bcc = addressList(opts.bcc, 'bcc');
        if (opts.from !== undefined) opts.from = parseAddress(opts.from, 'from');
        const { summarize, withoutFields, headerEnd } = await import('../../store/message-headers.js');
        const stores = await openCommandStores(ctx);
        const { smtp, filter, redirectTo, sendingPaused } = await activeSmtp(ctx);
        let record;
        if (opts.file !== undefined) {
          if (opts.text !== undefined || opts.htmlFile !== undefined || opts.subject !== undefined) {
            throw new MailboxError('EUSAGE', '--file takes a complete message: it cannot be combined with --subject, --text or --html-file');
          }
          const input: Readable = opts.file === '-' ? (ctx.io.stdin as Readable) : openInput(opts.file);
          const { stream, header } = withHeaderRewritten(input as AsyncIterable<Buffer>, headerEnd, (block) => withoutFields(block, ['bcc']));
          const explicit = [...to, ...cc, ...bcc];
          record = await stores.queue.enqueue(stream, {
            account: smtp?.name ?? null,
            recipients: async () => {
              if (explicit.length) return explicit;
              const summary = summarize(await header);
              const found = [...summary.to, ...summary.cc, ...summary.bcc];
              if (found.length === 0) throw new MailboxError('EVALUE', 'the message has no recipient: it has no To, Cc or Bcc header; give --to ADDR', { field: 'to' });
              return found;
            },
          });
        } else {
          if (to.length + cc.length + bcc.length === 0) throw new MailboxError('EUSAGE', 'no recipient: give --to ADDR (or --file MESSAGE)');
          if (opts.text === undefined && opts.htmlFile === undefined) throw new MailboxError('EUSAGE', 'no body: give --text TEXT or --html-file FILE (or --file MESSAGE)');
          const from = opts.from ?? smtp?.from;
          if (!from) {
            throw new MailboxError('ECONFIG', 'no From address: there is no active SMTP account with a from address', {
              hint: 'activate one (mailbox activate NAME), or give --from ADDR',
            });
          }
          const html = opts.htmlFile === undefined ? undefined : readInput(opts.htmlFile);
          const { default: MailComposer } = await import('nodemailer/lib/mail-composer');
          const mail = new MailComposer({ from, to, cc, bcc, subject: opts.subject ?? '', text: opts.text, html }).compile();
          record = await stores.queue.enqueue(mail.createReadStream() as AsyncIterable<Buffer>, {
            account: smtp?.name ?? null,
            recipients: [...to, ...cc, ...bcc],
          });
        }
        ctx.out.data(emailJson(record, await stores.mail.filePath(record)), () => record.id);
        // The envelope: To, Cc and Bcc, also when they came from the headers of a whole message.
        const recipients = record.recipients ?? [...record.to, ...record.cc];
        if (!ctx.out.json) {
          ctx.out.info(`queued ${record.id} for ${recipients.join(', ') || 'its recipients'}`);
          if (!smtp) ctx.out.warn('no SMTP account is active: the message waits in the outbox until one is (mailbox activate NAME)');
        }
        // Said under --json too (stderr): a test instance must never be taken for the real thing.
        if (redirectTo) ctx.out.warn(`redirect-to is set: the message will be sent to ${redirectTo} only (its recipients kept in the header X-Mailbox-Original-Recipients)`);
        if (sendingPaused) ctx.out.warn('sending is paused: the message waits in the outbox, send-ready (mailbox resume sending)');
        warnBlocked(ctx, filter, recipients);
      }),
    );
}

/** Opened before anything is queued, so that a folder or an unreadable file is named as such. */
function openInput(file: string): Readable {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw inputError(file, 'file', err);
  }
  if (fs.fstatSync(fd).isDirectory()) {
    fs.closeSync(fd);
    throw invalid('file', file, 'a message file (or - for standard input), not a folder');
  }
  return fs.createReadStream('', { fd });
}

function readInput(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw inputError(file, 'html-file', err);
  }
}

function inputError(file: string, field: string, err: unknown): MailboxError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EISDIR') return invalid(field, file, 'a file, not a folder');
  if (code === 'ENOENT' || code === 'ENOTDIR') return new MailboxError('ENOTFOUND', `no such file: ${file}`, { field });
  const why = code === 'EACCES' ? 'permission denied' : (err as Error).message;
  return new MailboxError('ENOTFOUND', `cannot read ${file}: ${why}`, { field });
}
