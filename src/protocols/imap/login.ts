// Logging in over our own IMAP session (the probe: imapflow cannot be run stage by stage), with the
// mechanism chooseImapMechanism() picked, which is also the one imapflow is told to use; and the
// failure both report the same way.
import { REDACTED } from '../redaction.js';
import type { ProtocolError } from '../errors.js';
import type { LineSession } from '../net/line-session.js';
import type { Peer } from '../net/peer.js';
import { imapTemporary, readImapTagged } from '../net/replies.js';
import { saslClient, type SaslClient, type SaslName } from '../sasl.js';
import { refusedLoginAdvice, saslLogin } from '../login.js';
import type { ImapMechanism } from './mechanism.js';
import { needsLiteral, quoted } from './syntax.js';

/** LOGIN with literals where a value is not plain ASCII (synchronizing: waits for "+"). */
async function loginCommand(session: LineSession, tag: string, user: string, secret: string): Promise<string> {
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

/** The SASL name of each AUTHENTICATE mechanism. */
const SASL: Record<Exclude<ImapMechanism, 'LOGIN'>, SaslName> = { 'AUTHENTICATE PLAIN': 'PLAIN', 'AUTHENTICATE LOGIN': 'LOGIN', XOAUTH2: 'XOAUTH2', OAUTHBEARER: 'OAUTHBEARER' };

/**
 * AUTHENTICATE with the first response inline when SASL-IR is offered, else after the "+"; then
 * each further challenge answered in turn (a failed XOAUTH2/OAUTHBEARER challenges with an error in
 * JSON: the empty answer, OAUTHBEARER's %x01, ends the exchange).
 */
async function authenticate(session: LineSession, tag: string, sasl: SaslClient, saslIr: boolean): Promise<string> {
  const read = async () => (await readImapTagged(session, tag, 'AUTHENTICATE', true)).line;
  return saslLogin(session.peer, sasl, {
    start: async (initial) => {
      if (initial === undefined) session.send(`${tag} AUTHENTICATE ${sasl.name}`);
      else session.send(`${tag} AUTHENTICATE ${sasl.name} ${initial}`, `${tag} AUTHENTICATE ${sasl.name} ${REDACTED}`);
      return read();
    },
    respond: async (answer) => {
      session.send(answer, REDACTED);
      return read();
    },
    challenge: (line) => (line.startsWith('+') ? line.slice(1).trim() : undefined),
    inline: () => saslIr,
    succeeded: (line) => /^\S+ OK\b/i.test(line),
  });
}

/** Logs in with `mechanism`; resolves with the tagged completion line (OK or not). */
export function imapLogin(session: LineSession, tag: string, mechanism: ImapMechanism, user: string, secret: string, saslIr: boolean): Promise<string> {
  if (mechanism === 'LOGIN') return loginCommand(session, tag, user, secret);
  const { host, port } = session.peer.account;
  return authenticate(session, tag, saslClient(SASL[mechanism], { user, secret, host, port }), saslIr);
}

/** A refused login, the same from the probe and the reader: 77, or 75 when the server says "not now". */
export function imapLoginRefused(peer: Peer, user: string, mechanism: ImapMechanism, offered: string, response: string): ProtocolError {
  const text = response.replace(/^\S+ /, '');
  if (imapTemporary(response)) {
    return peer.fail({ code: 'ETEMPFAIL', message: `account ${peer.account.name}: login as ${user} failed: ${text}`, hint: 'the server is temporarily unable to log you in; try again later', response: text, command: mechanism });
  }
  return peer.fail({
    code: 'EAUTH',
    message: `account ${peer.account.name}: login as ${user} failed: ${text}`,
    ...refusedLoginAdvice(offered, mechanism, false),
    response: text,
    command: mechanism,
  });
}
