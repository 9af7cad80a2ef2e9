// `mailbox emails show ID --raw | --body`: the stored message itself on stdout. --raw writes its
// bytes exactly as stored, streamed; --body its text part, decoded (charset, quoted-printable,
// base64) by a MIME library loaded only here, rather than by hand-written decoding.
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { MailboxError } from '../core/errors.js';
import type { EmailRecord, MailStore } from '../store/types.js';
import type { Context } from './context.js';

export interface ContentOptions {
  raw?: boolean;
  body?: boolean;
}

/** True when the options ask for the message itself rather than its record. */
export function wantsContent(ctx: Context, opts: ContentOptions): boolean {
  if (!opts.raw && !opts.body) return false;
  if (opts.raw && opts.body) throw new MailboxError('EUSAGE', 'choose one of --raw or --body');
  if (ctx.out.json) throw new MailboxError('EUSAGE', `--${opts.raw ? 'raw' : 'body'} writes the message itself, not JSON: leave out --json`);
  return true;
}

/** Writes with back-pressure; a reader that goes away (`| head`) ends the output quietly. */
async function write(stdout: NodeJS.WritableStream, chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>): Promise<void> {
  try {
    for await (const chunk of chunks) if (!stdout.write(chunk)) await once(stdout, 'drain');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function printContent(ctx: Context, mail: MailStore, record: EmailRecord, opts: ContentOptions): Promise<void> {
  const stream = await mail.read(record);
  if (!stream) throw new MailboxError('ENOTFOUND', `the message of email ${record.id} is not in the store (its record is kept)`, { hint: 'mailbox emails show ID prints what is known of it' });
  if (opts.raw) return write(ctx.io.stdout, stream);
  const { default: PostalMime } = await import('postal-mime');
  const parsed = await PostalMime.parse(await readAll(stream));
  let text = parsed.text;
  if (text === undefined && parsed.html !== undefined) {
    ctx.out.info(`email ${record.id} has no text part: this is its HTML part`);
    text = parsed.html;
  }
  if (text === undefined) {
    const attachments = parsed.attachments.map((a) => a.filename ?? a.mimeType).join(', ');
    throw new MailboxError('ENOTFOUND', `email ${record.id} has no text part${attachments ? ` (attachments: ${attachments})` : ''}`, { hint: 'mailbox emails show ID --raw writes the whole message' });
  }
  await write(ctx.io.stdout, [text.endsWith('\n') ? text : `${text}\n`]);
}
