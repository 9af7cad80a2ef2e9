// The one choice of POP3 login mechanism, for the probe and the reader, and the login itself on our
// client (USER/PASS, or AUTH RFC 5034 with PLAIN, LOGIN or XOAUTH2). The order is the one imapflow
// and nodemailer use for IMAP and SMTP: SASL PLAIN, then SASL LOGIN, then USER/PASS.
import type { Account } from '../../core/account.js';
import { base64, plainPayload, xoauth2Payload } from '../sasl.js';
import type { Pop3Capabilities, Pop3Client } from './client.js';
import { pop3Refused } from './failures.js';
import type { StatusLine } from './parser.js';

export type Pop3Mechanism = 'user' | 'plain' | 'login' | 'xoauth2';

export const POP3_MECHANISM_NAMES: Record<Pop3Mechanism, string> = { user: 'USER/PASS', plain: 'AUTH PLAIN', login: 'AUTH LOGIN', xoauth2: 'XOAUTH2' };

/** The SASL mechanisms of a CAPA listing (upper case). */
export function pop3MechanismsOffered(capabilities: Pop3Capabilities | null): string[] {
  return (capabilities?.get('SASL') ?? []).map((m) => m.toUpperCase());
}

/** What the server offers, in words for hints: "USER/PASS, SASL PLAIN LOGIN". */
export function pop3Offered(capabilities: Pop3Capabilities | null): string {
  const sasl = pop3MechanismsOffered(capabilities);
  return [capabilities?.has('USER') ? 'USER/PASS' : '', sasl.length ? `SASL ${sasl.join(' ')}` : ''].filter(Boolean).join(', ');
}

export function choosePop3Mechanism(account: Pick<Account, 'auth'>, capabilities: Pop3Capabilities | null): Pop3Mechanism {
  if (account.auth === 'oauth2') return 'xoauth2';
  const sasl = pop3MechanismsOffered(capabilities);
  if (sasl.includes('PLAIN')) return 'plain';
  if (sasl.includes('LOGIN')) return 'login';
  return 'user';
}

/** Longest AUTH command with its initial response (RFC 5034 4: 255 octets). */
const MAX_AUTH_LINE = 255;

/** The SASL responses of a mechanism, in order; the first goes inline with AUTH when it fits. */
function saslResponses(mechanism: Exclude<Pop3Mechanism, 'user'>, user: string, secret: string): { name: string; responses: string[]; inline: boolean } {
  if (mechanism === 'login') return { name: 'LOGIN', responses: [base64(user), base64(secret)], inline: false };
  const name = mechanism === 'plain' ? 'PLAIN' : 'XOAUTH2';
  const payload = mechanism === 'plain' ? plainPayload(user, secret) : xoauth2Payload(user, secret);
  return { name, responses: [payload], inline: `AUTH ${name} ${payload}`.length <= MAX_AUTH_LINE };
}

/** Logs in. Failures are EAUTH (77), or ETEMPFAIL (75) for [IN-USE]/[SYS/TEMP]/[LOGIN-DELAY]. */
export async function pop3Login(client: Pop3Client, mechanism: Pop3Mechanism, user: string, secret: string, options: { initialResponse?: boolean } = {}): Promise<void> {
  const context = { user, offered: pop3Offered(client.capabilities) || 'nothing', tried: POP3_MECHANISM_NAMES[mechanism] };
  const refused = (status: StatusLine, command: string) => pop3Refused(client.peer, status.line, command, context);
  if (mechanism === 'user') {
    const u = await client.exchange(`USER ${user}`);
    if (!u.ok) throw refused(u, 'USER');
    const p = await client.exchange(`PASS ${secret}`);
    if (!p.ok) throw refused(p, 'PASS');
    return;
  }
  const { name, responses, inline } = saslResponses(mechanism, user, secret);
  const pending = [...responses];
  const initial = inline && (options.initialResponse ?? true);
  let status = await client.exchange(initial ? `AUTH ${name} ${pending.shift()}` : `AUTH ${name}`);
  while (status.continuation) {
    // A failed XOAUTH2 answers with a challenge carrying a JSON error: an empty line ends the exchange.
    const next = pending.shift();
    status = await client.exchange(next ?? '');
    if (next === undefined) break;
  }
  if (!status.ok || status.continuation) throw refused(status, 'AUTH');
}
