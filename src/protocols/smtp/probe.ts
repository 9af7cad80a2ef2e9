// The SMTP probe, a raw exchange: nodemailer's SMTPConnection.connect() folds greeting, EHLO and
// STARTTLS into one step, and the stages must be separate and timed. Login follows nodemailer's
// choice (PLAIN when offered, else LOGIN; XOAUTH2 for OAuth accounts).
import { randomUUID } from 'node:crypto';
import { MailboxError } from '../../core/errors.js';
import { REDACTED } from '../debug-log.js';
import { redactSecret } from '../errors.js';
import { LineSession, ProtocolViolation } from '../net/line-session.js';
import { ehloOrHelo, readGreeting, readSmtpReply, smtpTemporary, type SmtpReply } from '../net/replies.js';
import { base64, plainPayload, xoauth2Payload } from '../sasl.js';
import { socketTlsOptions } from '../net/trust.js';
import { openProbeSocket, plainGreeting, plaintextLoginWarning, startTlsNotOffered, tlsStage, type ProbeContext } from '../probe/transport.js';

/**
 * The arguments of an EHLO extension, or undefined when it is not offered. Old servers (and
 * Outlook-era clients' expectations) also announce "AUTH=LOGIN PLAIN": both spellings are merged.
 */
function extension(lines: string[], name: string): string[] | undefined {
  let found: string[] | undefined;
  for (const line of lines) {
    const [keyword, ...args] = line.trim().split(/\s+/);
    const upper = keyword?.toUpperCase() ?? '';
    if (upper === name) found = [...(found ?? []), ...args];
    else if (name === 'AUTH' && upper.startsWith('AUTH=')) found = [...(found ?? []), keyword!.slice(5), ...args];
  }
  return found && [...new Set(found)];
}

/**
 * Sends a command, first making sure the server has not already answered something not asked yet
 * (RFC 5321 forbids it; reading such a reply as the answer would report a false success).
 */
function inTurn(session: LineSession, name: string): void {
  if (session.pending > 0) throw new ProtocolViolation(`the server sent data before the command ${name} was sent (out of turn)`);
}

function command(session: LineSession, line: string, logged?: string): void {
  inTurn(session, (logged ?? line).split(' ')[0]!);
  session.send(line, logged);
}

/** EHLO (HELO when EHLO is refused), checked for replies out of turn first. */
function hello(session: LineSession): ReturnType<typeof ehloOrHelo> {
  inTurn(session, 'EHLO');
  return ehloOrHelo(session);
}

/** A reply that is not the expected class: 4xx temporary (75), 5xx refused (76, or 77 for AUTH). */
function refused(account: ProbeContext['account'], command: string, reply: SmtpReply, auth = false): MailboxError {
  const text = reply.text.replace(/\n/g, ' ');
  if (reply.code >= 400 && reply.code < 500) {
    return new MailboxError('ETEMPFAIL', `account ${account.name}: ${command} was deferred: ${text}`, { hint: 'a temporary refusal: try again later' });
  }
  return new MailboxError(auth ? 'EAUTH' : 'EPROTOCOL', `account ${account.name}: ${command} was refused: ${text}`);
}

async function authenticate(session: LineSession, mechanism: string, user: string, secret: string): Promise<SmtpReply> {
  if (mechanism === 'LOGIN') {
    command(session, 'AUTH LOGIN');
    let reply = await readSmtpReply(session, 'AUTH LOGIN');
    if (reply.code !== 334) return reply;
    session.send(base64(user));
    reply = await readSmtpReply(session, 'AUTH LOGIN');
    if (reply.code !== 334) return reply;
    session.send(base64(secret), REDACTED);
    return readSmtpReply(session, 'AUTH LOGIN');
  }
  const payload = mechanism === 'XOAUTH2' ? xoauth2Payload(user, secret) : plainPayload(user, secret);
  command(session, `AUTH ${mechanism} ${payload}`, `AUTH ${mechanism} ${REDACTED}`);
  let reply = await readSmtpReply(session, `AUTH ${mechanism}`);
  // XOAUTH2 failures answer 334 with a JSON error; an empty line ends the exchange.
  if (reply.code === 334) {
    session.send('');
    reply = await readSmtpReply(session, `AUTH ${mechanism}`);
  }
  return reply;
}

/** RFC 5322 date with a numeric zone. */
function messageDate(now: Date): string {
  return now.toUTCString().replace(/GMT$/, '+0000');
}

export function testMessage(from: string, to: string, account: string, server: string, now: Date): string {
  const domain = from.slice(from.lastIndexOf('@') + 1) || 'mailbox.invalid';
  return [
    `Date: ${messageDate(now)}`,
    `From: <${from}>`,
    `To: <${to}>`,
    `Subject: mailbox test message from account ${account}`,
    `Message-ID: <${randomUUID()}@${domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
    '',
    `This is a test message sent by "mailbox test --send-to" through account ${account} (${server}).`,
    'It can be deleted.',
    '',
  ].join('\r\n');
}

export async function probeSmtp(ctx: ProbeContext): Promise<void> {
  const { account, recorder } = ctx;
  const { socket, release } = await openProbeSocket(ctx);
  const session = new LineSession(socket, { signal: ctx.signal, tap: ctx.tap });
  try {
    await recorder.run('greeting', async () => {
      const banner = await plainGreeting(ctx, readGreeting(session, 'smtp'));
      return { value: banner, detail: banner.replace(/\n/g, ' '), data: { banner } };
    });
    let extensions: string[] | undefined;
    if (account.security === 'starttls') {
      await tlsStage(ctx, async () => {
        const before = await hello(session);
        if (!extension(before.extensions, 'STARTTLS')) throw startTlsNotOffered(account, 'STARTTLS');
        command(session, 'STARTTLS');
        const reply = await readSmtpReply(session, 'STARTTLS');
        if (reply.code !== 220) {
          if (smtpTemporary(reply)) throw refused(account, 'STARTTLS', reply);
          throw new MailboxError('ETLS', `account ${account.name}: the server refused STARTTLS: ${reply.text.replace(/\n/g, ' ')}`, {
            hint: `mailbox never continues in plaintext when starttls is configured: use --security tls on the server's implicit-TLS port (usually 465)`,
          });
        }
        return session.upgrade(socketTlsOptions(ctx.plan, account.host));
      });
    }
    const caps = await recorder.run('capabilities', async () => {
      const greeted = await hello(session);
      extensions = greeted.extensions;
      const mechanisms = (extension(extensions, 'AUTH') ?? []).map((m) => m.toUpperCase());
      const sizeArg = extension(extensions, 'SIZE')?.[0];
      const size = sizeArg && /^\d+$/.test(sizeArg) ? Number(sizeArg) : null;
      const using = account.auth === 'none' ? 'none' : account.auth === 'oauth2' ? 'XOAUTH2' : mechanisms.includes('PLAIN') ? 'PLAIN' : 'LOGIN';
      if (mechanisms.length > 0 && account.auth !== 'none') {
        const warning = plaintextLoginWarning(account, `AUTH ${mechanisms.join(' ')}`);
        if (warning) recorder.warn(warning);
      }
      return {
        value: { mechanisms, size, using, smtputf8: Boolean(extension(extensions, 'SMTPUTF8')) },
        detail: `${greeted.helo ? 'EHLO refused, HELO accepted: no ESMTP extensions' : extensions.map((e) => e.split(' ')[0]).join(' ')}; mechanisms offered: ${mechanisms.join(' ') || 'none'}; will use ${using}`,
        data: { extensions, mechanisms, configured: using, helo: greeted.helo },
      };
    });
    await recorder.run('login', async () => {
      if (account.auth === 'none') return { value: undefined, detail: 'skipped: the account sends without authentication', data: { mechanism: 'none' } };
      const secret = await ctx.secret();
      const user = account.user ?? '';
      const offered = caps.mechanisms.join(' ') || 'none';
      if (!caps.mechanisms.includes(caps.using)) {
        throw new MailboxError('EAUTH', `account ${account.name}: the server does not offer AUTH ${caps.using} (offers: ${offered})`, {
          hint: caps.mechanisms.length === 0 && account.security === 'none' ? 'servers often offer AUTH only after TLS: use --security starttls or tls' : 'choose an authentication the server offers',
        });
      }
      const reply = await authenticate(session, caps.using, user, secret);
      if (reply.code !== 235) {
        const err = refused(account, `login as ${user}`, { ...reply, text: redactSecret(reply.text, secret, user) }, true);
        throw new MailboxError(err.code, err.message, {
          hint: `check the user name and password (server offers: ${offered}; tried ${caps.using}); store a new password with mailbox edit ${account.name} --password-stdin`,
        });
      }
      return { value: undefined, detail: `logged in as ${user} (${caps.using})`, data: { user, mechanism: caps.using } };
    });
    await recorder.run('probe', async () => {
      const detail = caps.size === null ? 'no SIZE limit announced' : `SIZE limit ${caps.size} bytes (${(caps.size / 1048576).toFixed(1)} MiB)`;
      return { value: undefined, detail, data: { sizeLimit: caps.size } };
    });
    if (ctx.sendTo) {
      const to = ctx.sendTo;
      await recorder.run('send', async () => {
        const from = account.from ?? (account.user?.includes('@') ? account.user : undefined);
        if (!from) throw new MailboxError('ECONFIG', `account ${account.name} has no From address to send the test message from`, { hint: `set one: mailbox edit ${account.name} --from ADDRESS` });
        const utf8 = /[^\x00-\x7f]/.test(from + to) && caps.smtputf8 ? ' SMTPUTF8' : '';
        const message = testMessage(from, to, account.name, `${account.host}:${account.port}`, ctx.now());
        const step = async (line: string, name: string, expect: number[]) => {
          command(session, line);
          const reply = await readSmtpReply(session, name);
          if (!expect.includes(reply.code)) throw refused(account, name, reply);
          return reply;
        };
        await step(`MAIL FROM:<${from}>${caps.size !== null ? ` SIZE=${Buffer.byteLength(message)}` : ''}${utf8}`, 'MAIL FROM', [250]);
        await step(`RCPT TO:<${to}>`, 'RCPT TO', [250, 251]);
        await step('DATA', 'DATA', [354]);
        // The message is ours: no line starts with "." and it ends with CRLF.
        session.socket.write(message);
        const reply = await step('.', 'end of DATA', [250]);
        session.send('QUIT');
        await readSmtpReply(session, 'QUIT').catch(() => undefined);
        return { value: undefined, detail: `sent from ${from} to ${to}: ${reply.text.replace(/\n/g, ' ')}`, data: { from, to, reply: reply.text, code: reply.code } };
      });
    } else {
      session.send('QUIT');
      await readSmtpReply(session, 'QUIT').catch(() => undefined);
    }
  } finally {
    session.close();
    release();
  }
}
