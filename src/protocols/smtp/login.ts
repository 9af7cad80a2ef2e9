// The SMTP login (RFC 4954), written once for both conversations that log in: the probe's own
// session and nodemailer's connection (as its custom authentication, so `run` logs in exactly as
// `test` did: same choice, same exchange, same failure).
import type { Account } from '../../core/account.js';
import { REDACTED } from '../redaction.js';
import type { ProtocolError } from '../errors.js';
import type { Peer } from '../net/peer.js';
import { base64, plainPayload, xoauth2Payload } from '../sasl.js';
import { tlsRequired } from './failures.js';
import { chooseSmtpMechanism, type SmtpMechanism } from './mechanism.js';

export interface SmtpAnswer {
  code: number;
  /** The whole reply as the server sent it. */
  text: string;
}

/** Sends one line (`logged` replaces it in logs when it carries a secret) and reads the reply. */
export type SmtpSend = (line: string, logged?: string) => Promise<SmtpAnswer>;

/** The AUTH exchange; resolves with the server's last reply (235 on success). */
async function smtpAuthenticate(send: SmtpSend, mechanism: SmtpMechanism, user: string, secret: string): Promise<SmtpAnswer> {
  if (mechanism === 'LOGIN') {
    let reply = await send('AUTH LOGIN');
    if (reply.code !== 334) return reply;
    reply = await send(base64(user));
    if (reply.code !== 334) return reply;
    return send(base64(secret), REDACTED);
  }
  const payload = mechanism === 'XOAUTH2' ? xoauth2Payload(user, secret) : plainPayload(user, secret);
  const reply = await send(`AUTH ${mechanism} ${payload}`, `AUTH ${mechanism} ${REDACTED}`);
  // A failed XOAUTH2 answers 334 with an error in JSON; an empty line ends the exchange.
  return reply.code === 334 ? send('') : reply;
}

/** A refused login, the same from the probe and the sender: 4xx is 75, anything else 77. */
function smtpLoginRefused(peer: Peer, account: Pick<Account, 'security'>, user: string, mechanism: SmtpMechanism, offered: readonly string[], reply: SmtpAnswer): ProtocolError {
  const text = reply.text.replace(/\n/g, ' ');
  const command = `AUTH ${mechanism}`;
  const tls = tlsRequired(peer, account, { code: reply.code, text: reply.text, command });
  if (tls) return tls;
  if (reply.code >= 400 && reply.code < 500) {
    return peer.fail({ code: 'ETEMPFAIL', message: `account ${peer.account.name}: login as ${user} was deferred: ${text}`, hint: 'a temporary refusal: try again later', response: text, command });
  }
  return peer.fail({
    code: 'EAUTH',
    message: `account ${peer.account.name}: login as ${user} was refused: ${text}`,
    hint: `check the user name and password (server offers: ${offered.join(' ') || 'none'}; tried ${mechanism}); store a new password`,
    fixes: [{ field: 'password' }],
    response: text,
    command,
  });
}

/** Chooses the mechanism for what the server offers, logs in, and fails with our error when refused. */
export async function smtpLogin(peer: Peer, account: Pick<Account, 'name' | 'auth' | 'security' | 'user'>, offered: readonly string[], secret: string, send: SmtpSend): Promise<SmtpMechanism> {
  const mechanism = chooseSmtpMechanism(account, offered);
  const user = account.user ?? '';
  const reply = await smtpAuthenticate(send, mechanism, user, secret);
  if (reply.code !== 235) throw smtpLoginRefused(peer, account, user, mechanism, offered, reply);
  return mechanism;
}
