// mailbox sendmail: the sendmail-compatible entry point (issue 13) for cron's MAILTO, mail(1), git
// send-email and anything else that pipes a message into `sendmail`. It reads one message from standard
// input and queues it as `mailbox send --file -` does (Bcc removed); `--now` (or MAILBOX_SEND_NOW=1)
// sends it at once through the active SMTP account, the runner's send path, and exits with the result.
// A `sendmail` symlink to `mailbox` runs this command (main.ts looks at argv[1]).
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { fromAddress, parseAddress } from '../../core/account.js';
import { ExitCode, MailboxError, invalid } from '../../core/errors.js';
import { messageDate } from '../../core/email.js';
import { settingsOf } from '../../core/settings.js';
import { isAddress } from '../../core/validate.js';
import type { EmailRecord } from '../../store/types.js';
import { action, collect, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';
import { openCommandStores } from '../stores.js';
import { emailJson } from './emails.js';
import { activeSmtp, warnBlocked, withHeaderRewritten } from './send.js';

interface SendmailOptions {
  t?: boolean;
  i?: boolean;
  f?: string;
  F?: string;
  o?: string[];
  B?: string;
  b?: string;
  N?: string;
  v?: boolean;
  now?: boolean;
}

/** "Name <addr>" as a From header value; the name quoted when it needs to be. */
function fromHeader(address: string, name: string | undefined): string {
  if (!name) return address;
  const safe = /^[\w !#$%&'*+\-/=?^`{|}~.]*$/.test(name) ? name : `"${name.replace(/["\\]/g, '\\$&')}"`;
  return `${safe} <${address}>`;
}

/** The fields a sendmail adds when the message lacks them: From (from -f/-F or the account), Date, Message-ID. */
function completedHeader(block: Buffer, present: { from: boolean; date: boolean; messageId: boolean }, from: string | undefined, now: Date): Buffer {
  const eol = block.includes('\r\n') ? '\r\n' : '\n';
  const lines: string[] = [];
  if (!present.from && from) lines.push(`From: ${from}`);
  if (!present.date) lines.push(`Date: ${messageDate(now)}`);
  if (!present.messageId) lines.push(`Message-ID: <${randomUUID()}@${from ? fromAddress(from).split('@')[1] : 'mailbox.invalid'}>`);
  return lines.length ? Buffer.concat([Buffer.from(lines.map((l) => l + eol).join(''), 'utf8'), block]) : block;
}

function recipientArgs(args: string[]): string[] {
  // Recipients may come comma-separated in one argument, as mail(1) passes them.
  const out = args.flatMap((a) => a.split(',')).map((a) => a.trim()).filter(Boolean);
  for (const address of out) if (!isAddress(fromAddress(address))) throw invalid('recipient', address, 'an email address such as ops@example.com');
  return out.map(fromAddress);
}

/** Exit code and words for what became of the message after a send cycle. */
function afterSend(record: EmailRecord | undefined, cycleError: MailboxError | null): { code: number; text: string } {
  switch (record?.state) {
    case 'sent':
      return { code: 0, text: `sent: ${record.reply ?? 'accepted'}` };
    case 'send-failed':
      return { code: ExitCode.unavailable, text: `refused: ${record.error}` };
    case 'send-ignored':
      return { code: ExitCode.dataErr, text: `not sent: ${record.error}` };
    default:
      if (cycleError && cycleError.exitCode !== ExitCode.tempFail) return { code: cycleError.exitCode, text: `not sent: ${cycleError.message}; it stays queued and mailbox run sends it` };
      return { code: ExitCode.tempFail, text: `queued for retry${record?.error ? `: ${record.error}` : cycleError ? `: ${cycleError.message}` : ''}` };
  }
}

/** Sends what is due now through the active SMTP account, this message among it: the runner's send cycle, under the run lock. */
async function sendNow(ctx: Context, id: string): Promise<{ record: EmailRecord | undefined; error: MailboxError | null; busy: boolean }> {
  const stores = await openCommandStores(ctx);
  let lock;
  try {
    lock = await stores.lock.acquire();
  } catch (err) {
    // A runner holds the store: it sends the message within its send interval.
    if (err instanceof MailboxError && err.code === 'ELOCKED') return { record: undefined, error: err, busy: true };
    throw err;
  }
  try {
    const snapshot = await ctx.snapshot();
    const smtp = snapshot.accounts.find((a) => a.type === 'smtp' && a.active);
    if (!smtp) throw new MailboxError('ECONFIG', 'no SMTP account is active: the message stays queued', { hint: 'mailbox activate NAME' });
    const problem = snapshot.problems.get(smtp.name.toLowerCase());
    if (problem) throw problem;
    // The operating settings hold here as in the runner: paused sending sends nothing, a test redirect redirects.
    const settings = settingsOf(snapshot.config.settings);
    if (settings.sendingPaused) {
      const paused = new MailboxError('ETEMPFAIL', 'sending is paused: the message stays queued', { hint: 'mailbox resume sending' });
      return { record: (await stores.log.readAll()).get(id), error: paused, busy: false };
    }
    const [{ sendCycle }, { protocolAdapters, debugLogs, resolvingWith }, { dnsOf }, { tokenManagerOf }] = await Promise.all([
      import('../../jobs/cycles.js'),
      import('../../jobs/protocol-adapters.js'),
      import('../network.js'),
      import('../oauth-wiring.js'),
    ]);
    const outcome = await sendCycle(
      {
        stores,
        secrets: ctx.secrets,
        tokens: tokenManagerOf(ctx),
        adapters: resolvingWith(protocolAdapters, dnsOf(ctx.env).lookup),
        debugLog: debugLogs(ctx.paths.logDir),
        clock: ctx.now,
        monotonic: () => performance.now(),
      },
      smtp,
      snapshot.filters,
      new AbortController().signal,
      undefined,
      settings,
    );
    return { record: (await stores.log.readAll()).get(id), error: outcome?.error ?? null, busy: false };
  } finally {
    await lock.release();
  }
}

export function register(command: Command, penv: ProgramEnv): void {
  command
    .description('sendmail-compatible: queue the message on standard input (for cron, mail(1), git send-email)')
    .argument('[recipient...]', 'envelope recipients (with -t: added to those of the headers)')
    .option('-t', 'take the recipients from the To, Cc and Bcc headers (Bcc is removed either way)')
    .option('-i', 'a line with a single dot does not end the message (always so: standard input is read to its end)')
    .option('-f <address>', 'the sender: the From of a message that has none (the envelope sender is the SMTP account\'s)')
    .option('-F <name>', 'the full name for that From')
    .option('-o <option>', 'sendmail options (-oi, -oem, -odi ...): accepted and ignored', collect)
    .option('-B <type>', 'body type (7BIT, 8BITMIME): accepted and ignored')
    .option('-b <mode>', 'mode: only m (deliver mail, the default)')
    .option('-N <dsn>', 'DSN conditions: accepted and ignored')
    .option('-v', 'accepted and ignored')
    .option('--now', 'send it at once through the active SMTP account and exit with the result (also MAILBOX_SEND_NOW=1)')
    .addHelpText(
      'after',
      `
Reads one message (RFC 5322, LF or CRLF lines) from standard input to its end and queues it in the
outbox; mailbox run sends it. A missing From (from -f and -F, else the active SMTP account's From),
Date or Message-ID is added; Bcc is always removed. Exit codes: 0 queued (with --now: sent),
64 usage, 65 bad input (no recipient), 75 queued but not sent yet (--now: a temporary failure, or a
runner holds the store and sends it), 69 refused for good, 76 TLS/protocol, 77 authentication,
78 configuration. A symlink named sendmail pointing at mailbox behaves the same.

Examples:
  $ printf 'Subject: hi\\n\\nbody\\n' | mailbox sendmail ops@example.com
  $ mailbox sendmail -t < message.eml
  $ git send-email --sendmail-cmd='mailbox sendmail' --to=list@example.com 0001-fix.patch
  $ MAILTO=ops@example.com in a crontab, with a sendmail symlink to mailbox on cron's PATH`,
    )
    .action(
      action<SendmailOptions>(penv, async (ctx, opts, args) => {
        if (opts.b !== undefined && opts.b !== 'm') throw invalid('b', `-b${opts.b}`, '-bm (deliver mail): mailbox sendmail does nothing else');
        const explicit = recipientArgs(args);
        if (!opts.t && explicit.length === 0) throw new MailboxError('EUSAGE', 'no recipient: name one or more, or give -t to read them from the headers');
        const now = Boolean(opts.now) || ctx.env.MAILBOX_SEND_NOW === '1';
        const { summarize, withoutFields, headerEnd } = await import('../../store/message-headers.js');
        const stores = await openCommandStores(ctx);
        const { smtp, filter } = await activeSmtp(ctx);
        // -f is only the From of a message without one here: a local name (-f root) is passed over, not refused.
        const given = opts.f !== undefined && isAddress(fromAddress(opts.f.trim())) ? fromAddress(parseAddress(opts.f.trim(), 'f')) : undefined;
        if (opts.f !== undefined && !given) ctx.out.warn(`-f ${opts.f} is not an email address: it is not used`);
        const sender = given ? fromHeader(given, opts.F) : opts.F && smtp?.from ? fromHeader(fromAddress(smtp.from), opts.F) : smtp?.from;
        const clock = ctx.now();
        const { stream, header } = withHeaderRewritten(ctx.io.stdin as Readable as AsyncIterable<Buffer>, headerEnd, (block) => {
          const s = summarize(block);
          const names = new Set([...block.toString('latin1').matchAll(/^([!-9;-~]+):/gm)].map((m) => m[1]!.toLowerCase()));
          return completedHeader(withoutFields(block, ['bcc']), { from: names.has('from'), date: names.has('date') || s.date !== null, messageId: s.messageId !== null }, sender, clock);
        });
        const record = await stores.queue.enqueue(stream, {
          account: smtp?.name ?? null,
          recipients: async () => {
            const s = summarize(await header);
            const found = opts.t ? [...new Set([...s.to, ...s.cc, ...s.bcc, ...explicit])] : explicit;
            if (found.length === 0) throw new MailboxError('EVALUE', 'the message has no recipient: -t found no To, Cc or Bcc header', { field: 'to' });
            return found;
          },
        });
        // Not closed here: --now sends through the same stores (a database's pool, once ended, is gone); the action closes them.
        const recipients = record.recipients ?? [];
        warnBlocked(ctx, filter, recipients);
        if (!now) {
          ctx.out.data(emailJson(record, null), () => record.id);
          if (!ctx.out.json) ctx.out.info(`queued ${record.id} for ${recipients.join(', ')}${smtp ? '' : '; no SMTP account is active: it waits in the outbox until one is'}`);
          return 0;
        }
        const sent = await sendNow(ctx, record.id);
        const result = sent.busy ? { code: ExitCode.tempFail, text: `queued; the runner that holds the store (${sent.error?.message}) sends it` } : afterSend(sent.record, sent.error);
        ctx.out.data({ ...emailJson(sent.record ?? record, null), exit: result.code }, () => `${record.id} ${result.text}`);
        return result.code;
      }),
    );
}
