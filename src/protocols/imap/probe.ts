// The IMAP probe, a small raw exchange rather than imapflow: imapflow's connect() does greeting,
// STARTTLS, CAPABILITY and login in one call, and the stages must be separate and timed. The login
// uses the mechanism the reader tells imapflow to use (mechanism.ts).
import type { ProtocolError } from '../errors.js';
import { LineSession } from '../net/line-session.js';
import { readGreeting, readImapTagged, type ImapTagged } from '../net/replies.js';
import { noStartTls } from '../net/security-advice.js';
import { socketTlsOptions } from '../net/trust.js';
import { openProbeSocket, plainGreeting, plaintextLoginWarning, tlsStage, type ProbeContext } from '../probe/transport.js';
import { folderMatches, foldersToRead, isPattern, readsSeveral } from '../../core/imap-folders.js';
import { folderMissing, foldersOf, listedFolders } from './folders.js';
import { imapLogin, imapLoginRefused } from './login.js';
import { chooseImapMechanism, imapMechanismsOffered, type ImapMechanism } from './mechanism.js';
import { capabilitiesOf, encodeMailboxName, quoted } from './syntax.js';

/** RFC 3501 7.1: the text of an [ALERT] MUST be shown to the user: it becomes a warning. */
function alertsOf(lines: string[]): string[] {
  return lines.flatMap((line) => {
    const match = /\[ALERT\]\s*(.*)$/i.exec(line);
    return match ? [`the server says: ${match[1]!.trim()}`] : [];
  });
}

interface Capabilities {
  list: string[];
  offered: string[];
  /** The mechanism to use, or why there is none (reported at the login stage). */
  choice: ImapMechanism | ProtocolError;
}

/** One probe conversation: tags, [ALERT]s as warnings, and PREAUTH, which may come late. */
class ImapProbe {
  private tags = 0;
  /** Set by a PREAUTH greeting, or a late "* PREAUTH": Courier-IMAP sends "* OK [ALERT] ..." first without FAM. */
  preauth = false;

  constructor(
    readonly ctx: ProbeContext,
    readonly session: LineSession,
  ) {}

  nextTag(): string {
    return `P${++this.tags}`;
  }

  alerts(lines: string[]): void {
    for (const alert of alertsOf(lines)) this.ctx.recorder.warn(alert);
  }

  async command(line: string, step: string, stopAtContinuation = false): Promise<ImapTagged> {
    const tag = this.nextTag();
    this.session.send(`${tag} ${line}`);
    return this.tagged(tag, step, stopAtContinuation);
  }

  async tagged(tag: string, step: string, stopAtContinuation = false): Promise<ImapTagged> {
    const done = await readImapTagged(this.session, tag, step, stopAtContinuation);
    this.alerts([...done.untagged, done.line]);
    if (done.untagged.some((line) => /^\* PREAUTH\b/i.test(line))) this.preauth = true;
    return done;
  }

  async capability(): Promise<string[]> {
    const done = await this.command('CAPABILITY', 'CAPABILITY');
    if (done.status !== 'OK') throw this.session.peer.refused('CAPABILITY', done.line, false);
    for (const line of done.untagged) {
      const caps = capabilitiesOf(line);
      if (caps) return caps;
    }
    return capabilitiesOf(done.line) ?? [];
  }
}

async function greeting(probe: ImapProbe): Promise<string[] | undefined> {
  return probe.ctx.recorder.run('greeting', async () => {
    const line = await plainGreeting(probe.ctx, readGreeting(probe.session, 'imap'));
    probe.alerts([line]);
    probe.preauth ||= /^\* PREAUTH\b/i.test(line);
    return { value: capabilitiesOf(line), detail: line, data: { banner: line, preauth: probe.preauth } };
  });
}

async function startTls(probe: ImapProbe, greeted: string[] | undefined): Promise<void> {
  const { ctx, session } = probe;
  const { account, peer } = ctx;
  await tlsStage(ctx, async () => {
    const offered = greeted ?? (await probe.capability());
    if (probe.preauth) {
      // RFC 3501 6.2.1: STARTTLS only before authentication. A plaintext PREAUTH may also be an attacker's downgrade.
      throw peer.fail({
        code: 'ETLS',
        message: `${peer.who} greeted with PREAUTH (already logged in, unencrypted), so STARTTLS is no longer possible`,
        ...noStartTls('imap'),
      });
    }
    if (!offered.some((c) => c.toUpperCase() === 'STARTTLS')) throw peer.startTlsNotOffered('STARTTLS');
    const done = await probe.command('STARTTLS', 'STARTTLS');
    if (done.status !== 'OK') throw peer.fail({ code: 'ETLS', message: `account ${account.name}: the server refused STARTTLS: ${done.line}`, response: done.line, command: 'STARTTLS' });
    return session.upgrade(socketTlsOptions(ctx.plan, account.host));
  });
}

async function capabilities(probe: ImapProbe, greeted: string[] | undefined): Promise<Capabilities> {
  const { account, recorder } = probe.ctx;
  return recorder.run('capabilities', async () => {
    const list = greeted ?? (await probe.capability());
    const offered = imapMechanismsOffered(list);
    let choice: Capabilities['choice'];
    try {
      choice = chooseImapMechanism(account, list);
    } catch (err) {
      choice = err as ProtocolError;
    }
    const using = typeof choice === 'string' ? choice : 'none the account can use';
    if (typeof choice === 'string') {
      const warning = plaintextLoginWarning(account, choice);
      if (warning) recorder.warn(warning);
    }
    return {
      value: { list, offered, choice },
      detail: `${list.join(' ')}; mechanisms offered: ${offered.join(' ') || 'none (LOGIN only)'}; will use ${using}`,
      data: { capabilities: list, mechanisms: offered, configured: using },
    };
  });
}

async function login(probe: ImapProbe, caps: Capabilities): Promise<void> {
  const { ctx, session } = probe;
  await ctx.recorder.run('login', async () => {
    if (probe.preauth) return { value: undefined, detail: 'skipped: the server greeted with PREAUTH (this connection is already authenticated; no password sent)', data: { mechanism: 'PREAUTH' } };
    if (typeof caps.choice !== 'string') throw caps.choice;
    const secret = await ctx.secret();
    const user = ctx.account.user ?? '';
    const saslIr = caps.list.some((c) => c.toUpperCase() === 'SASL-IR');
    const tag = probe.nextTag();
    const line = await imapLogin(session, tag, caps.choice, user, secret, saslIr);
    probe.alerts([line]);
    if (!/^\S+ OK\b/i.test(line)) throw imapLoginRefused(ctx.peer, user, caps.choice, caps.offered.join(' ') || 'LOGIN only', line);
    return { value: undefined, detail: `logged in as ${user} (${caps.choice})`, data: { user, mechanism: caps.choice } };
  });
}

async function examine(probe: ImapProbe): Promise<void> {
  const { account, recorder } = probe.ctx;
  await recorder.run('probe', async () => {
    const folder = account.folder ?? 'INBOX';
    const done = await probe.command(`EXAMINE ${quoted(encodeMailboxName(folder))}`, 'EXAMINE');
    if (done.status !== 'OK') {
      // Which folders there are, so that the hint can name the right one (nothing when LIST fails too).
      const listed = await probe.command('LIST "" "*"', 'LIST').catch(() => undefined);
      throw folderMissing(probe.ctx.peer, folder, done.text, listed?.status === 'OK' ? foldersOf(listed.untagged) : undefined);
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
    const several = readsSeveral(account) ? await severalFolders(probe) : undefined;
    await probe.command('LOGOUT', 'LOGOUT').catch(() => undefined);
    return {
      value: undefined,
      detail: `${folder}: ${messages ?? '?'} messages, UIDVALIDITY ${uidValidity ?? '?'}, UIDNEXT ${uidNext ?? '?'}${several?.detail ?? ''}`,
      data: { folder, messages, uidValidity, uidNext, ...(several ? { folders: several.folders } : {}) },
    };
  });
}

/**
 * An account that reads several folders: the ones a cycle would read now (as the reader picks them
 * from LIST), a named one the server does not have refused as the own folder is (78), and a pattern
 * that matches nothing yet said (not an error: the folders may come later).
 */
async function severalFolders(probe: ImapProbe): Promise<{ folders: string[]; detail: string }> {
  const { account, peer } = probe.ctx;
  const listed = await probe.command('LIST "" "*"', 'LIST');
  if (listed.status !== 'OK') {
    throw peer.fail({
      code: 'ECONFIG',
      message: `account ${account.name}: the server refused to list its folders (LIST): ${listed.text}`,
      hint: 'reading several folders needs the folder list; read one folder instead',
      fixes: [{ field: 'folders', clear: true }],
      command: 'LIST',
    });
  }
  const available = listedFolders(listed.untagged);
  const has = (name: string) => available.some((l) => folderMatches(name, l.name, l.delimiter));
  const folders = foldersToRead(account, available);
  const missing = folders.find((f) => !isPattern(f) && !has(f));
  if (missing !== undefined) throw folderMissing(peer, missing, 'the server does not list it', available.map((l) => l.name), true);
  const unmatched = (account.folders ?? []).filter((f) => isPattern(f) && !has(f));
  return {
    folders,
    detail: `; reads ${folders.length} folder(s): ${folders.join(', ') || 'none'}${unmatched.length ? `; no folder matches ${unmatched.join(', ')} yet` : ''}`,
  };
}

export async function probeImap(ctx: ProbeContext): Promise<void> {
  const { socket, release } = await openProbeSocket(ctx);
  const session = new LineSession(socket, ctx.peer, { signal: ctx.signal, tap: ctx.tap });
  const probe = new ImapProbe(ctx, session);
  try {
    let greeted = await greeting(probe);
    if (ctx.account.security === 'starttls') {
      await startTls(probe, greeted);
      greeted = undefined; // RFC 3501: forget what was learnt before TLS
    }
    await login(probe, await capabilities(probe, greeted));
    await examine(probe);
  } finally {
    session.close();
    release();
  }
}
