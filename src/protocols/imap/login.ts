// Logging in over our own IMAP session (the probe: imapflow cannot be run stage by stage), with the
// mechanism chooseImapMechanism() picked, which is also the one imapflow is told to use; and the
// failure both report the same way.
import { REDACTED } from '../redaction.js';
import type { ProtocolError } from '../errors.js';
import type { LineSession } from '../net/line-session.js';
import type { Peer } from '../net/peer.js';
import { imapTemporary, readImapTagged } from '../net/replies.js';
import { base64, oauthBearerPayload, plainPayload, xoauth2Payload } from '../sasl.js';
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

/**
 * AUTHENTICATE with the first response inline when SASL-IR is offered, else after the "+"; then
 * each further challenge answered in turn. A failed XOAUTH2/OAUTHBEARER answers with a challenge
 * (an error in JSON): once the responses run out, an empty one ends the exchange.
 */
async function authenticate(session: LineSession, tag: string, mechanism: string, responses: string[], saslIr: boolean): Promise<string> {
  const pending = [...responses];
  if (saslIr) session.send(`${tag} AUTHENTICATE ${mechanism} ${pending.shift()}`, `${tag} AUTHENTICATE ${mechanism} ${REDACTED}`);
  else session.send(`${tag} AUTHENTICATE ${mechanism}`);
  for (;;) {
    const reply = await readImapTagged(session, tag, 'AUTHENTICATE', true);
    if (!reply.line.startsWith('+')) return reply.line;
    const next = pending.shift();
    session.send(next ?? '', next === undefined ? undefined : REDACTED);
    if (next === undefined) return (await readImapTagged(session, tag, 'AUTHENTICATE')).line;
  }
}

/** Logs in with `mechanism`; resolves with the tagged completion line (OK or not). */
export function imapLogin(session: LineSession, tag: string, mechanism: ImapMechanism, user: string, secret: string, saslIr: boolean): Promise<string> {
  const { host, port } = session.peer.account;
  switch (mechanism) {
    case 'LOGIN':
      return loginCommand(session, tag, user, secret);
    case 'AUTHENTICATE PLAIN':
      return authenticate(session, tag, 'PLAIN', [plainPayload(user, secret)], saslIr);
    case 'AUTHENTICATE LOGIN':
      // No initial response: the mechanism has none; the server asks for the user, then the password.
      return authenticate(session, tag, 'LOGIN', [base64(user), base64(secret)], false);
    case 'XOAUTH2':
      return authenticate(session, tag, 'XOAUTH2', [xoauth2Payload(user, secret)], saslIr);
    case 'OAUTHBEARER':
      return authenticate(session, tag, 'OAUTHBEARER', [oauthBearerPayload(user, host, port, secret)], saslIr);
  }
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
    hint: `check the user name and password (server offers: ${offered}; tried ${mechanism}); store a new password`,
    fixes: [{ field: 'password' }],
    response: text,
    command: mechanism,
  });
}
