// The SMTP login (RFC 4954), written once for both conversations that log in: the probe's own
// session and nodemailer's connection (as its custom authentication, so `run` logs in exactly as
// `test` did: same choice, same exchange, same failure).
import type { Account } from '../../core/account.js';
import { REDACTED } from '../redaction.js';
import type { ProtocolError } from '../errors.js';
import type { Peer } from '../net/peer.js';
import { saslClient, type SaslClient } from '../sasl.js';
import { tlsRequired } from './failures.js';
import { refusedLoginAdvice, saslLogin } from '../login.js';
import { chooseSmtpMechanism, type SmtpMechanism } from './mechanism.js';

export interface SmtpAnswer {
  code: number;
  /** The whole reply as the server sent it. */
  text: string;
}

/** Sends one line (`logged` replaces it in logs when it carries a secret) and reads the reply. */
export type SmtpSend = (line: string, logged?: string) => Promise<SmtpAnswer>;

/** The AUTH exchange; resolves with the server's last reply (235 on success). */
function smtpAuthenticate(peer: Peer, send: SmtpSend, sasl: SaslClient): Promise<SmtpAnswer> {
  return saslLogin(peer, sasl, {
    start: (initial) => (initial === undefined ? send(`AUTH ${sasl.name}`) : send(`AUTH ${sasl.name} ${initial}`, `AUTH ${sasl.name} ${REDACTED}`)),
    respond: (answer) => send(answer, REDACTED),
    // 334 asks for more (a failed XOAUTH2/OAUTHBEARER says why in it; the empty answer, OAUTHBEARER's %x01, then ends the exchange).
    challenge: (reply) => (reply.code === 334 ? reply.text.slice(4).trim() : undefined),
    inline: () => true,
    succeeded: (reply) => reply.code === 235,
  });
}

/** A refused login, the same from the probe and the sender: 4xx is 75, anything else 77. */
function smtpLoginRefused(peer: Peer, account: Pick<Account, 'security' | 'authMechanism'>, user: string, mechanism: SmtpMechanism, offered: readonly string[], reply: SmtpAnswer): ProtocolError {
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
    ...refusedLoginAdvice(offered.join(' ') || 'none', mechanism, account.authMechanism !== undefined),
    response: text,
    command,
  });
}

/** Chooses the mechanism for what the server offers, logs in, and fails with our error when refused. */
export async function smtpLogin(peer: Peer, account: Pick<Account, 'name' | 'auth' | 'security' | 'user' | 'authMechanism'>, offered: readonly string[], secret: string, send: SmtpSend): Promise<SmtpMechanism> {
  const mechanism = chooseSmtpMechanism(account, offered);
  const user = account.user ?? '';
  const sasl = saslClient(mechanism, { user, secret, host: peer.account.host, port: peer.account.port });
  const reply = await smtpAuthenticate(peer, send, sasl);
  if (reply.code !== 235) throw smtpLoginRefused(peer, account, user, mechanism, offered, reply);
  return mechanism;
}
