// What the three protocols' logins share: a SASL exchange run for a server (one that will not stop
// is a protocol violation; one that cannot prove itself after a yes is refused), and what to do
// after a server refused the credentials.
import type { Fix } from '../core/errors.js';
import type { Peer } from './net/peer.js';
import { runSasl, SaslRunaway, type SaslCarrier, type SaslClient } from './sasl.js';

/** Runs the exchange; a yes in the final reply is then checked (SCRAM: the server's proof). */
export async function saslLogin<R>(peer: Peer, sasl: SaslClient, carrier: SaslCarrier<R>): Promise<R> {
  const reply = await runSasl(sasl, carrier).catch((err: unknown) => {
    throw err instanceof SaslRunaway ? peer.violation(err.message) : err;
  });
  const distrust = carrier.succeeded(reply) ? sasl.distrust() : undefined;
  if (distrust) {
    throw peer.fail({ code: 'EAUTH', message: `account ${peer.account.name}: ${distrust}`, hint: 'this may not be the server it claims to be: check its address and its certificate', command: sasl.name });
  }
  return reply;
}

/** Whether a mechanism answers a challenge instead of sending the password itself. */
export function isChallengeResponse(mechanism: string): boolean {
  return /\b(SCRAM-|CRAM-MD5\b)/i.test(mechanism);
}

/**
 * A new password, first. After a challenge-response mechanism the account did not insist on, also
 * PLAIN: a server that keeps passwords only hashed may offer SCRAM or CRAM-MD5 and still be unable
 * to check them, and only the admin can tell that from a wrong password.
 */
export function refusedLoginAdvice(offered: string, tried: string, insisted: boolean): { hint: string; fixes: Fix[] } {
  const hint = `check the user name and password (server offers: ${offered}; tried ${tried}); store a new password`;
  if (insisted || !isChallengeResponse(tried)) return { hint, fixes: [{ field: 'password' }] };
  return {
    hint: `${hint}; or, if the password is right, the server may offer ${tried.replace(/^AUTH /, '')} without being able to check it (it keeps passwords hashed): log in with PLAIN`,
    fixes: [{ field: 'password' }, { field: 'authMechanism', value: 'plain' }],
  };
}
