// What to do when the account's security setting and what the port speaks disagree: words, and the
// settings that would fix it (the CLI words those as flags).
import { DEFAULT_PORTS, type Account, type AccountType, type Security } from '../../core/account.js';
import type { Fix } from '../../core/errors.js';

export interface Advice {
  hint?: string;
  fixes?: Fix[];
}

export type SecurityAccount = Pick<Account, 'type' | 'port' | 'security'>;

export const useSecurity = (security: Security): Fix => ({ field: 'security', value: security });

/** Which security the usual ports of a protocol expect, e.g. "993 expects tls, 143 expects starttls". */
export function portExpectations(type: AccountType): string {
  const ports = DEFAULT_PORTS[type];
  const parts = [`${ports.tls} expects tls (implicit TLS)`, `${ports.starttls} expects starttls`];
  if (type === 'smtp') parts.push(`${ports.none} usually plain or starttls`);
  return `for ${type}, port ${parts.join(', port ')}`;
}

/** The security the port number suggests, when it is one of the protocol's usual ports. */
function securityOfPort(type: AccountType, port: number): Security | undefined {
  const ports = DEFAULT_PORTS[type];
  if (port === ports.tls) return 'tls';
  if (port === ports.starttls) return 'starttls';
  return undefined;
}

/** The security does not match what the port speaks (a handshake or a greeting that never came). */
export function securityMismatch(account: SecurityAccount): Advice {
  const { type, port } = account;
  const usual = securityOfPort(type, port);
  if (account.security === 'tls') {
    if (usual === 'starttls') {
      return { hint: `port ${port} is the usual STARTTLS port for ${type}: use starttls on it, or the implicit-TLS port ${DEFAULT_PORTS[type].tls}`, fixes: [useSecurity('starttls'), { field: 'port', value: String(DEFAULT_PORTS[type].tls) }] };
    }
    return { hint: `port ${port} did not answer the TLS handshake as implicit TLS: if it is a plain or STARTTLS port, use starttls (${portExpectations(type)})`, fixes: [useSecurity('starttls')] };
  }
  if (usual === 'tls') return { hint: `port ${port} is the usual implicit-TLS port for ${type}`, fixes: [useSecurity('tls')] };
  return {
    hint: `a server that accepts the connection but never greets is often an implicit-TLS port spoken to in plain text: if port ${port} is one, use tls (${portExpectations(type)})`,
    fixes: [useSecurity('tls')],
  };
}

/** The port answered the TLS ClientHello in plain text: it is not an implicit-TLS port. */
export function plaintextAnswer(account: SecurityAccount): Advice {
  if (securityOfPort(account.type, account.port) === 'starttls') return securityMismatch(account);
  return {
    hint: `port ${account.port} is not an implicit-TLS port: use starttls (or none) on it, or the implicit-TLS port (${portExpectations(account.type)})`,
    fixes: [useSecurity('starttls'), { field: 'port', value: String(DEFAULT_PORTS[account.type].tls) }],
  };
}

/** STARTTLS/STLS cannot happen on this connection: never go on in plaintext, say what can. */
export function noStartTls(type: AccountType, acceptPlain = true): Advice {
  const plain = acceptPlain ? ', or none if you accept an unencrypted connection' : '';
  return {
    hint: `mailbox never continues in plaintext when starttls is configured: use tls on the server's implicit-TLS port (usually ${DEFAULT_PORTS[type].tls})${plain}`,
    fixes: acceptPlain ? [useSecurity('tls'), useSecurity('none')] : [useSecurity('tls')],
  };
}
