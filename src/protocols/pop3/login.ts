// The one choice of POP3 login mechanism, for the probe and the reader, and the login itself on our
// client: USER/PASS, or AUTH (RFC 5034) with a SASL mechanism. The account's own mechanism when it
// names one; else the first the server offers in the account model's order: a challenge-response
// mechanism (SCRAM-SHA-256, then CRAM-MD5), then PLAIN and LOGIN, then USER/PASS; for OAuth 2.0,
// OAUTHBEARER, then XOAUTH2.
import { AUTH_MECHANISMS_BY_TYPE, type Account } from '../../core/account.js';
import { protocolError, type ProtocolError } from '../errors.js';
import { refusedLoginAdvice, saslLogin } from '../login.js';
import { saslClient, type SaslName } from '../sasl.js';
import type { Pop3Capabilities, Pop3Client } from './client.js';
import { pop3Refused } from './failures.js';
import type { StatusLine } from './parser.js';

export type Pop3Mechanism = 'USER' | Extract<SaslName, 'SCRAM-SHA-256' | 'CRAM-MD5' | 'PLAIN' | 'LOGIN' | 'OAUTHBEARER' | 'XOAUTH2'>;

/** A mechanism as the probe and the hints name it: "USER/PASS", "AUTH PLAIN". */
export function pop3MechanismName(mechanism: Pop3Mechanism): string {
  return mechanism === 'USER' ? 'USER/PASS' : `AUTH ${mechanism}`;
}

/** The SASL mechanisms of a CAPA listing (upper case). */
export function pop3MechanismsOffered(capabilities: Pop3Capabilities | null): string[] {
  return (capabilities?.get('SASL') ?? []).map((m) => m.toUpperCase());
}

/** What the server offers, in words for hints: "USER/PASS, SASL PLAIN LOGIN". */
export function pop3Offered(capabilities: Pop3Capabilities | null): string {
  const sasl = pop3MechanismsOffered(capabilities);
  return [capabilities?.has('USER') ? 'USER/PASS' : '', sasl.length ? `SASL ${sasl.join(' ')}` : ''].filter(Boolean).join(', ');
}

function asPop3(mechanism: string): Pop3Mechanism {
  return mechanism === 'command' ? 'USER' : (mechanism.toUpperCase() as Pop3Mechanism);
}

/**
 * The mechanism to log in with. A server without CAPA (RFC 1939 only) says nothing: USER/PASS, or
 * what the account insists on. OAuth 2.0: the standard OAUTHBEARER (RFC 7628) where CAPA lists it,
 * else XOAUTH2 whatever CAPA says (servers often do not list it).
 */
export function choosePop3Mechanism(account: Pick<Account, 'name' | 'auth' | 'authMechanism'>, capabilities: Pop3Capabilities | null): Pop3Mechanism {
  const sasl = pop3MechanismsOffered(capabilities);
  const told = Boolean(capabilities?.size);
  const offers = (m: Pop3Mechanism) => (m === 'USER' ? !told || capabilities!.has('USER') : m === 'XOAUTH2' || sasl.includes(m));
  if (account.authMechanism) {
    const wanted = asPop3(account.authMechanism);
    if (!told || offers(wanted)) return wanted;
    throw protocolError({
      code: 'EAUTH',
      message: `account ${account.name}: the server does not offer ${pop3MechanismName(wanted)}, the mechanism the account insists on (offers: ${pop3Offered(capabilities) || 'nothing'})`,
      hint: 'let mailbox choose among what the server offers',
      fixes: [{ field: 'authMechanism', clear: true }],
      account: account.name,
    });
  }
  const auth = account.auth === 'oauth2' ? 'oauth2' : 'password';
  return AUTH_MECHANISMS_BY_TYPE.pop3[auth].map(asPop3).find((m) => m !== 'USER' && offers(m)) ?? 'USER';
}

/** Longest AUTH command with its initial response (RFC 5034 4: 255 octets). */
const MAX_AUTH_LINE = 255;

export interface Pop3LoginOptions {
  /** Send the initial response with AUTH when it fits (default); false waits for the server's "+". */
  initialResponse?: boolean;
  /** The account insisted on the mechanism (the hint then does not suggest another). */
  insisted?: boolean;
}

/** Logs in. Failures are EAUTH (77), or ETEMPFAIL (75) for [IN-USE]/[SYS/TEMP]/[LOGIN-DELAY]. */
export async function pop3Login(client: Pop3Client, mechanism: Pop3Mechanism, user: string, secret: string, options: Pop3LoginOptions = {}): Promise<void> {
  const { peer } = client;
  const tried = pop3MechanismName(mechanism);
  const offered = pop3Offered(client.capabilities) || 'nothing';
  const refused = (status: StatusLine, command: string): ProtocolError =>
    pop3Refused(peer, status.line, command, { user, ...refusedLoginAdvice(offered, tried, Boolean(options.insisted)) });
  if (mechanism === 'USER') {
    const u = await client.exchange(`USER ${user}`);
    if (!u.ok) throw refused(u, 'USER');
    const p = await client.exchange(`PASS ${secret}`);
    if (!p.ok) throw refused(p, 'PASS');
    return;
  }
  const sasl = saslClient(mechanism, { user, secret, host: peer.account.host, port: peer.account.port });
  const status = await saslLogin(peer, sasl, {
    start: (initial) => client.exchange(initial === undefined ? `AUTH ${mechanism}` : `AUTH ${mechanism} ${initial}`),
    respond: (answer) => client.exchange(answer),
    challenge: (reply) => (reply.continuation ? reply.text : undefined),
    inline: (initial) => (options.initialResponse ?? true) && `AUTH ${mechanism} ${initial}`.length <= MAX_AUTH_LINE,
    succeeded: (reply) => reply.ok && !reply.continuation,
  });
  if (!status.ok || status.continuation) throw refused(status, 'AUTH');
}
