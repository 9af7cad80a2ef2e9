// The SMTP probe, a raw exchange: nodemailer's SMTPConnection.connect() folds greeting, EHLO and
// STARTTLS into one step, and the stages must be separate and timed. The login is the sender's own
// (login.ts): the same choice of mechanism and the same exchange.
import { randomUUID } from 'node:crypto';
import { senderAddress } from '../../core/account.js';
import { messageDate } from '../../core/email.js';
import type { ProtocolError } from '../errors.js';
import { LineSession } from '../net/line-session.js';
import type { Peer } from '../net/peer.js';
import { ehloOrHelo, readGreeting, readSmtpReply, smtpTemporary, type SmtpReply } from '../net/replies.js';
import { noStartTls } from '../net/security-advice.js';
import { socketTlsOptions } from '../net/trust.js';
import { openProbeSocket, plainGreeting, plaintextLoginWarning, tlsStage, type ProbeContext } from '../probe/transport.js';
import { extension } from './ehlo.js';
import { accountRefusal, recipientRefused } from './failures.js';
import { smtpLogin, type SmtpSend } from './login.js';
import { chooseSmtpMechanism, type SmtpMechanism } from './mechanism.js';

/**
 * Sends a command, first making sure the server has not already answered something not asked yet
 * (RFC 5321 forbids it; reading such a reply as the answer would report a false success).
 */
function inTurn(session: LineSession, name: string): void {
  if (session.pending > 0) throw session.peer.violation(`the server sent data before the command ${name} was sent (out of turn)`);
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

/** A reply that is not the expected class: 4xx temporary (75), 5xx refused (76). */
function refused(peer: Peer, command: string, reply: SmtpReply): ProtocolError {
  const text = reply.text.replace(/\n/g, ' ');
  if (reply.code >= 400 && reply.code < 500) {
    return peer.fail({ code: 'ETEMPFAIL', message: `account ${peer.account.name}: ${command} was deferred: ${text}`, hint: 'a temporary refusal: try again later', response: reply.text, command });
  }
  return peer.fail({ code: 'EPROTOCOL', message: `account ${peer.account.name}: ${command} was refused: ${text}`, response: reply.text, command });
}

/** The server will not take mail from the account's From address (for this login). */
function senderRefused(peer: Peer, from: string, reply: SmtpReply): ProtocolError {
  return peer.fail({
    code: 'ECONFIG',
    message: `account ${peer.account.name}: the server refused the sender ${from}: ${reply.text.replace(/\n/g, ' ')}`,
    hint: 'the server does not accept mail from this address (for this login): use an address it accepts',
    fixes: [{ field: 'from', value: 'ADDRESS' }],
    response: reply.text,
    command: 'MAIL FROM',
  });
}

function testMessage(from: string, to: string, account: string, server: string, now: Date): string {
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

interface Capabilities {
  mechanisms: string[];
  size: number | null;
  smtputf8: boolean;
  /** What the login will use ("none" without authentication), or why nothing can (reported at login). */
  choice: SmtpMechanism | 'none' | ProtocolError;
}

async function startTls(ctx: ProbeContext, session: LineSession): Promise<void> {
  const { account, peer } = ctx;
  await tlsStage(ctx, async () => {
    const before = await hello(session);
    if (!extension(before.extensions, 'STARTTLS')) throw peer.startTlsNotOffered('STARTTLS');
    command(session, 'STARTTLS');
    const reply = await readSmtpReply(session, 'STARTTLS');
    if (reply.code !== 220) {
      if (smtpTemporary(reply)) throw refused(peer, 'STARTTLS', reply);
      throw peer.fail({ code: 'ETLS', message: `account ${account.name}: the server refused STARTTLS: ${reply.text.replace(/\n/g, ' ')}`, ...noStartTls('smtp', false), response: reply.text, command: 'STARTTLS' });
    }
    return session.upgrade(socketTlsOptions(ctx.plan, account.host));
  });
}

async function capabilities(ctx: ProbeContext, session: LineSession): Promise<Capabilities> {
  const { account, recorder } = ctx;
  return recorder.run('capabilities', async () => {
    const greeted = await hello(session);
    const extensions = greeted.extensions;
    const mechanisms = (extension(extensions, 'AUTH') ?? []).map((m) => m.toUpperCase());
    const sizeArg = extension(extensions, 'SIZE')?.[0];
    const size = sizeArg && /^\d+$/.test(sizeArg) ? Number(sizeArg) : null;
    let choice: Capabilities['choice'] = 'none';
    if (account.auth !== 'none') {
      try {
        choice = chooseSmtpMechanism(account, mechanisms);
      } catch (err) {
        choice = err as ProtocolError;
      }
    }
    const using = typeof choice === 'string' ? choice : 'none the account can use';
    if (mechanisms.length > 0 && account.auth !== 'none') {
      const warning = plaintextLoginWarning(account, `AUTH ${mechanisms.join(' ')}`);
      if (warning) recorder.warn(warning);
    }
    return {
      value: { mechanisms, size, choice, smtputf8: Boolean(extension(extensions, 'SMTPUTF8')) },
      detail: `${greeted.helo ? 'EHLO refused, HELO accepted: no ESMTP extensions' : extensions.map((e) => e.split(' ')[0]).join(' ')}; mechanisms offered: ${mechanisms.join(' ') || 'none'}; will use ${using}`,
      data: { extensions, mechanisms, configured: using, helo: greeted.helo },
    };
  });
}

async function login(ctx: ProbeContext, session: LineSession, caps: Capabilities): Promise<void> {
  const { account, peer, recorder } = ctx;
  await recorder.run('login', async () => {
    if (caps.choice === 'none') return { value: undefined, detail: 'skipped: the account sends without authentication', data: { mechanism: 'none' } };
    if (typeof caps.choice !== 'string') throw caps.choice;
    const secret = await ctx.secret();
    const send: SmtpSend = async (line, logged) => {
      command(session, line, logged);
      return readSmtpReply(session, 'AUTH');
    };
    const mechanism = await smtpLogin(peer, account, caps.mechanisms, secret, send);
    return { value: undefined, detail: `logged in as ${account.user ?? ''} (${mechanism})`, data: { user: account.user ?? '', mechanism } };
  });
}

async function sendTestMessage(ctx: ProbeContext, session: LineSession, caps: Capabilities, to: string): Promise<void> {
  const { account, peer, recorder } = ctx;
  await recorder.run('send', async () => {
    const from = senderAddress(account);
    if (!from) {
      throw peer.fail({ code: 'ECONFIG', message: `account ${account.name} has no From address to send the test message from`, hint: 'set one', fixes: [{ field: 'from', value: 'ADDRESS' }] });
    }
    const utf8 = /[^\x00-\x7f]/.test(from + to) && caps.smtputf8 ? ' SMTPUTF8' : '';
    const message = testMessage(from, to, account.name, `${account.host}:${account.port}`, ctx.now());
    // A reply that faults the account (log in first, TLS first) says so; else the sender or the
    // recipient refused is named; else the command was refused.
    const step = async (line: string, name: string, expect: number[], refusedOne?: (reply: SmtpReply) => ProtocolError | undefined) => {
      command(session, line);
      const reply = await readSmtpReply(session, name);
      if (expect.includes(reply.code)) return reply;
      throw accountRefusal(peer, account, { code: reply.code, text: reply.text, command: name }) ?? refusedOne?.(reply) ?? refused(peer, name, reply);
    };
    const sender = (reply: SmtpReply) => (smtpTemporary(reply) ? undefined : senderRefused(peer, from, reply));
    await step(`MAIL FROM:<${from}>${caps.size !== null ? ` SIZE=${Buffer.byteLength(message)}` : ''}${utf8}`, 'MAIL FROM', [250], sender);
    await step(`RCPT TO:<${to}>`, 'RCPT TO', [250, 251], (reply) => recipientRefused(peer, to, { code: reply.code, text: reply.text, command: 'RCPT TO' }));
    await step('DATA', 'DATA', [354]);
    // The message is ours: no line starts with "." and it ends with CRLF.
    session.socket.write(message);
    const reply = await step('.', 'end of DATA', [250]);
    await quit(session);
    return { value: undefined, detail: `sent from ${from} to ${to}: ${reply.text.replace(/\n/g, ' ')}`, data: { from, to, reply: reply.text, code: reply.code } };
  });
}

async function quit(session: LineSession): Promise<void> {
  session.send('QUIT');
  await readSmtpReply(session, 'QUIT').catch(() => undefined);
}

export async function probeSmtp(ctx: ProbeContext): Promise<void> {
  const { account, recorder } = ctx;
  const { socket, release } = await openProbeSocket(ctx);
  const session = new LineSession(socket, ctx.peer, { signal: ctx.signal, tap: ctx.tap });
  try {
    await recorder.run('greeting', async () => {
      const banner = await plainGreeting(ctx, readGreeting(session, 'smtp'));
      return { value: banner, detail: banner.replace(/\n/g, ' '), data: { banner } };
    });
    if (account.security === 'starttls') await startTls(ctx, session);
    const caps = await capabilities(ctx, session);
    await login(ctx, session, caps);
    await recorder.run('probe', async () => {
      const detail = caps.size === null ? 'no SIZE limit announced' : `SIZE limit ${caps.size} bytes (${(caps.size / 1048576).toFixed(1)} MiB)`;
      return { value: undefined, detail, data: { sizeLimit: caps.size } };
    });
    if (ctx.sendTo) await sendTestMessage(ctx, session, caps, ctx.sendTo);
    else await quit(session);
  } finally {
    session.close();
    release();
  }
}
