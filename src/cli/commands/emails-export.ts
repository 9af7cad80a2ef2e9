// mailbox emails export --maildir DIR [--box B]: the stored messages as Maildir files, from either store.
import path from 'node:path';
import type { Command } from 'commander';
import { BOXES, type Box } from '../../core/email.js';
import { MailboxError } from '../../core/errors.js';
import { oneOf } from '../../core/validate.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';
import { openCommandStores } from '../stores.js';

interface ExportFlags {
  maildir?: string;
  box?: string;
}

async function exportCommand(ctx: Context, opts: ExportFlags): Promise<void> {
  if (!opts.maildir) throw new MailboxError('EUSAGE', 'missing --maildir DIR (the folder to write the messages into)');
  const box = opts.box === undefined ? undefined : (oneOf(opts.box, 'box', BOXES) as Box);
  const dir = path.resolve(ctx.cwd, opts.maildir);
  const [{ exportMaildir }, stores] = await Promise.all([import('../../store/maildir-export.js'), openCommandStores(ctx)]);
  const result = await exportMaildir(stores, dir, box);
  const { written, present, missing } = result.total;
  if (missing) ctx.out.warn(`${missing} email(s) have no stored message (their records are kept): not exported`);
  ctx.out.data({ dir, box: box ?? null, ...result.total, boxes: result.boxes }, () => '');
  if (!ctx.out.json) {
    const per = Object.entries(result.boxes)
      .filter(([, c]) => c.written)
      .map(([b, c]) => `${b} ${c.written}`)
      .join(', ');
    ctx.out.info(`exported ${written} message(s) to ${dir}${per ? ` (${per})` : ''}${present ? `; ${present} were there already` : ''}`);
  }
}

export function registerExport(emails: Command, penv: ProgramEnv): void {
  emails
    .command('export')
    .description('write the stored messages as Maildir files (byte for byte), for tools that read Maildir')
    .option('--maildir <dir>', 'the folder: a Maildir per box under it (inbox, outbox, sent, failed, skipped), or with --box the Maildir itself')
    .option('--box <box>', `only this box (${BOXES.join(', ')})`)
    .addHelpText(
      'after',
      `
Files are named ID,S=SIZE[,src=ACCOUNT+SOURCE], written to tmp/, fsynced and moved into new/. A file
there already (new/ or cur/) is left alone: exporting again writes only the new messages.

JSON: {dir, box, written, present, missing, boxes: {BOX: {written, present, missing}}}

Examples:
  $ mailbox emails export --maildir ~/Maildir-mailbox
  $ mailbox emails export --maildir ~/Mail/inbox --box inbox`,
    )
    .action(action<ExportFlags>(penv, exportCommand));
}
