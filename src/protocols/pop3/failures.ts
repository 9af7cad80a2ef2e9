// POP3 -ERR replies as failures: RFC 2449/3206 response codes decide the class; a bare -ERR to a
// login is an authentication failure.
import type { Fix } from '../../core/errors.js';
import type { ProtocolError } from '../errors.js';
import type { Peer } from '../net/peer.js';

/** RFC 2449 response codes are hierarchical ("SYS/TEMP/DISK"): the class is the leading part. */
function codeIs(code: string | undefined, ...classes: string[]): boolean {
  return code !== undefined && classes.some((c) => code === c || code.startsWith(`${c}/`));
}

/** The response code of a -ERR ("[IN-USE]" -> "IN-USE"), upper case. */
function responseCode(response: string): string | undefined {
  return /^-ERR \[([^\]]+)\]/i.exec(response)?.[1]?.toUpperCase();
}

/** -ERR [IN-USE], [LOGIN-DELAY], [SYS/TEMP]: the server says "not now". */
export function pop3Temporary(response: string): boolean {
  return codeIs(responseCode(response), 'IN-USE', 'LOGIN-DELAY', 'SYS/TEMP');
}

export interface LoginContext {
  user: string;
  /** What to do when the credentials were refused (protocols/login.ts: names what was offered and tried). */
  hint: string;
  fixes: Fix[];
}

/** A -ERR to `command` (or to the greeting); `login` when it answered a credential. */
export function pop3Refused(peer: Peer, response: string, command: string, login?: LoginContext): ProtocolError {
  if (command === 'greeting') return peer.greetingRefused(response, pop3Temporary(response));
  const code = responseCode(response);
  const text = response.replace(/^-ERR\s*/i, '');
  const shown = command.split(' ')[0]!.toUpperCase();
  const account = `account ${peer.account.name}:`;
  if (pop3Temporary(response)) {
    return peer.fail({
      code: 'ETEMPFAIL',
      message: `${account} the POP3 server refused ${shown} for now: ${text}`,
      hint: code === 'IN-USE' ? 'another client holds the mailbox; try again when it is done' : 'a temporary server condition: try again later',
      response,
      command: shown,
    });
  }
  if (codeIs(code, 'AUTH') || (login && !codeIs(code, 'SYS/PERM'))) {
    const who = login?.user ? ` for user ${login.user}` : '';
    return peer.fail({
      code: 'EAUTH',
      message: `${account} authentication failed${who}: ${text}`,
      hint: login?.hint ?? 'check the user name and password; store a new password',
      fixes: login?.fixes ?? [{ field: 'password' }],
      response,
      command: shown,
    });
  }
  return peer.fail({ code: 'EPROTOCOL', message: `${account} the POP3 server refused ${shown}: ${text}`, response, command: shown });
}
