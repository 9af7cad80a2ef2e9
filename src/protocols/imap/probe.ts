// The IMAP probe, a small raw exchange rather than imapflow: imapflow's connect() does greeting,
// STARTTLS, CAPABILITY and login in one call, and the stages must be separate and timed.
// Login follows imapflow's choice (AUTHENTICATE PLAIN when offered, with SASL-IR when offered,
// else LOGIN), so the probe tests what the reader will do.
import { MailboxError } from '../../core/errors.js';
import { REDACTED } from '../debug-log.js';
import { LineSession } from '../net/line-session.js';
import { redactSecret } from '../errors.js';
import { imapTemporary, readGreeting, readImapTagged, ServerReplyError } from '../net/replies.js';
import { plainPayload, xoauth2Payload } from '../sasl.js';
import { socketTlsOptions } from '../net/trust.js';
import { openProbeSocket, plainGreeting, plaintextLoginWarning, startTlsNotOffered, tlsStage, type ProbeContext } from '../probe/transport.js';


function capabilitiesOf(line: string): string[] | undefined {
  const match = /\[CAPABILITY ([^\]]*)\]/i.exec(line) ?? /^\* CAPABILITY (.*)$/i.exec(line);
  return match ? match[1]!.trim().split(/\s+/) : undefined;
}

/** An IMAP string: quoted when it is plain ASCII, else a literal. */
function needsLiteral(value: string): boolean {
  return /[^\x20-\x7e]/.test(value);
}

function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** RFC 3501 modified UTF-7 for mailbox names. */
export function encodeMailboxName(name: string): string {
  return name.replace(/&/g, '&-').replace(/[^\x20-\x7e]+/g, (run) => {
    const utf16 = Buffer.from(run, 'utf16le').swap16();
    return `&${utf16.toString('base64').replace(/=+$/, '').replace(/\//g, ',')}-`;
  });
}

/** LOGIN with literals where a value is not plain ASCII (synchronizing: waits for "+"). */
export async function loginCommand(session: LineSession, tag: string, user: string, secret: string): Promise<string> {
  const parts = [user, secret];
  if (!parts.some(needsLiteral)) {
    session.send(`${tag} LOGIN ${quoted(user)} ${quoted(secret)}`, `${tag} LOGIN ${quoted(user)} ${REDACTED}`);
  } else {
    let prefix = `${tag} LOGIN`;
    for (const [i, value] of parts.entries()) {
      const bytes = Buffer.byteLength(value, 'utf8');
      session.send(`${prefix} {${bytes}}`, i === 0 ? `${prefix} {${bytes}}` : `${prefix} {${REDACTED}}`);
      const go = await readImapTagged(session, tag, 'LOGIN', true);
      if (!go.line.startsWith('+')) return go.line;
      prefix = i === 0 ? value : '';
      if (i === 1) session.send(value, REDACTED);
    }
  }
  return (await readImapTagged(session, tag, 'LOGIN')).line;
}

/** AUTHENTICATE mech with SASL-IR when offered, else after the "+" continuation. */
async function authenticate(session: LineSession, tag: string, mechanism: string, payload: string, saslIr: boolean): Promise<string> {
  if (saslIr) {
    session.send(`${tag} AUTHENTICATE ${mechanism} ${payload}`, `${tag} AUTHENTICATE ${mechanism} ${REDACTED}`);
  } else {
    session.send(`${tag} AUTHENTICATE ${mechanism}`);
    const go = await readImapTagged(session, tag, 'AUTHENTICATE', true);
    if (!go.line.startsWith('+')) return go.line;
    session.send(payload, REDACTED);
  }
  const done = await readImapTagged(session, tag, 'AUTHENTICATE', true);
  if (!done.line.startsWith('+')) return done.line;
  // A failed XOAUTH2 answers with a JSON challenge; an empty response ends the exchange.
  session.send('');
  return (await readImapTagged(session, tag, 'AUTHENTICATE')).line;
}

/** RFC 3501 7.1: the text of an [ALERT] MUST be shown to the user: it becomes a warning. */
function alertsOf(lines: string[]): string[] {
  return lines.flatMap((line) => {
    const match = /\[ALERT\]\s*(.*)$/i.exec(line);
    return match ? [`the server says: ${match[1]!.trim()}`] : [];
  });
}

export async function probeImap(ctx: ProbeContext): Promise<void> {
  const { account, recorder } = ctx;
  const { socket, release } = await openProbeSocket(ctx);
  const session = new LineSession(socket, { signal: ctx.signal, tap: ctx.tap });
  let tags = 0;
  const nextTag = () => `P${++tags}`;
  const alerts = (lines: string[]) => alertsOf(lines).forEach((alert) => recorder.warn(alert));
  // Set by a PREAUTH greeting, or by a "* PREAUTH" that comes late: Courier-IMAP sends
  // "* OK [ALERT] ..." first when it has no FAM daemon, then "* PREAUTH".
  let preauth = false;
  const tagged = async (tag: string, step: string, stopAtContinuation = false) => {
    const done = await readImapTagged(session, tag, step, stopAtContinuation);
    alerts([...done.untagged, done.line]);
    if (done.untagged.some((line) => /^\* PREAUTH\b/i.test(line))) preauth = true;
    return done;
  };
  const capability = async (tag: string): Promise<string[]> => {
    session.send(`${tag} CAPABILITY`);
    const done = await tagged(tag, 'CAPABILITY');
    if (done.status !== 'OK') throw new ServerReplyError('CAPABILITY', done.line);
    for (const line of done.untagged) {
      const caps = capabilitiesOf(line);
      if (caps) return caps;
    }
    return capabilitiesOf(done.line) ?? [];
  };
  try {
    let caps = await recorder.run('greeting', async () => {
      const line = await plainGreeting(ctx, readGreeting(session, 'imap'));
      alerts([line]);
      preauth ||= /^\* PREAUTH\b/i.test(line);
      return { value: capabilitiesOf(line), detail: line, data: { banner: line, preauth } };
    });
    if (account.security === 'starttls') {
      const greeted = caps;
      await tlsStage(ctx, async () => {
        const offered = greeted ?? (await capability(nextTag()));
        if (preauth) {
          // RFC 3501 6.2.1: STARTTLS only before authentication. A plaintext PREAUTH may also be an attacker's downgrade.
          throw new MailboxError('ETLS', `account ${account.name}: ${account.host}:${account.port} greeted with PREAUTH (already logged in, unencrypted), so STARTTLS is no longer possible`, {
            hint: `mailbox never continues in plaintext when starttls is configured: use --security tls on the server's implicit-TLS port (usually 993), or --security none if you accept an unencrypted connection`,
          });
        }
        if (!offered.some((c) => c.toUpperCase() === 'STARTTLS')) throw startTlsNotOffered(account, 'STARTTLS');
        const tag = nextTag();
        session.send(`${tag} STARTTLS`);
        const done = await tagged(tag, 'STARTTLS');
        if (done.status !== 'OK') throw new MailboxError('ETLS', `account ${account.name}: the server refused STARTTLS: ${done.line}`);
        return session.upgrade(socketTlsOptions(ctx.plan, account.host));
      });
      caps = undefined; // RFC 3501: forget what was learnt before TLS
    }
    const capabilities = await recorder.run('capabilities', async () => {
      const list = caps && account.security !== 'starttls' ? caps : await capability(nextTag());
      const upper = list.map((c) => c.toUpperCase());
      const mechanisms = upper.filter((c) => c.startsWith('AUTH=')).map((c) => c.slice(5));
      const loginDisabled = upper.includes('LOGINDISABLED');
      const using = account.auth === 'oauth2' ? 'XOAUTH2' : mechanisms.includes('PLAIN') ? 'AUTHENTICATE PLAIN' : 'LOGIN';
      if (!loginDisabled) {
        const warning = plaintextLoginWarning(account, mechanisms.includes('PLAIN') ? 'AUTH=PLAIN' : 'LOGIN');
        if (warning) recorder.warn(warning);
      }
      return {
        value: { upper, mechanisms, loginDisabled, using },
        detail: `${list.join(' ')}; mechanisms offered: ${mechanisms.join(' ') || 'none (LOGIN only)'}; will use ${using}`,
        data: { capabilities: list, mechanisms, configured: using },
      };
    });
    await recorder.run('login', async () => {
      if (preauth) return { value: undefined, detail: 'skipped: the server greeted with PREAUTH (this connection is already authenticated; no password sent)', data: { mechanism: 'PREAUTH' } };
      const secret = await ctx.secret();
      const user = account.user ?? '';
      const offered = capabilities.mechanisms.join(' ') || 'LOGIN only';
      const tag = nextTag();
      let line: string;
      if (account.auth === 'oauth2') {
        if (!capabilities.mechanisms.includes('XOAUTH2')) {
          throw new MailboxError('EAUTH', `account ${account.name}: the server does not offer XOAUTH2 (offers ${offered})`, { hint: 'use --auth password, or a server that supports OAuth 2.0' });
        }
        line = await authenticate(session, tag, 'XOAUTH2', xoauth2Payload(user, secret), capabilities.upper.includes('SASL-IR'));
      } else if (capabilities.mechanisms.includes('PLAIN')) {
        line = await authenticate(session, tag, 'PLAIN', plainPayload(user, secret), capabilities.upper.includes('SASL-IR'));
      } else if (capabilities.loginDisabled) {
        throw new MailboxError('EAUTH', `account ${account.name}: the server refuses to log in on this connection (LOGINDISABLED, mechanisms offered: ${offered})`, {
          hint: 'the server wants TLS first: use --security tls or starttls',
        });
      } else {
        line = await loginCommand(session, tag, user, secret);
      }
      if (!/^\S+ OK\b/i.test(line)) {
        const temporary = imapTemporary(line);
        throw new MailboxError(temporary ? 'ETEMPFAIL' : 'EAUTH', `account ${account.name}: login as ${user} failed: ${redactSecret(line.replace(/^\S+ /, ''), secret, user)}`, {
          hint: temporary
            ? 'the server is temporarily unable to log you in; try again later'
            : `check the user name and password (server offers: ${offered}; tried ${capabilities.using}); store a new password with mailbox edit ${account.name} --password-stdin`,
        });
      }
      return { value: undefined, detail: `logged in as ${user} (${capabilities.using})`, data: { user, mechanism: capabilities.using } };
    });
    await recorder.run('probe', async () => {
      const folder = account.folder ?? 'INBOX';
      const tag = nextTag();
      session.send(`${tag} EXAMINE ${quoted(encodeMailboxName(folder))}`);
      const done = await tagged(tag, 'EXAMINE');
      if (done.status !== 'OK') {
        throw new MailboxError('ECONFIG', `account ${account.name}: cannot open folder ${folder}: ${done.text}`, { hint: `check the folder name: mailbox edit ${account.name} --folder NAME` });
      }
      const number = (re: RegExp) => {
        for (const l of done.untagged) {
          const m = re.exec(l);
          if (m) return Number(m[1]);
        }
        return null;
      };
      const messages = number(/^\* (\d+) EXISTS/i);
      const uidValidity = number(/\[UIDVALIDITY (\d+)\]/i);
      const uidNext = number(/\[UIDNEXT (\d+)\]/i);
      const logout = nextTag();
      session.send(`${logout} LOGOUT`);
      await tagged(logout, 'LOGOUT').catch(() => undefined);
      return {
        value: undefined,
        detail: `${folder}: ${messages ?? '?'} messages, UIDVALIDITY ${uidValidity ?? '?'}, UIDNEXT ${uidNext ?? '?'}`,
        data: { folder, messages, uidValidity, uidNext },
      };
    });
  } finally {
    session.close();
    release();
  }
}
