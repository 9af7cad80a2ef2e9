// Network, TLS and server failures -> MailboxError codes with hints that fit the account.
import { DEFAULT_PORTS, type Account, type AccountType, type Security } from '../core/account.js';
import { MailboxError, type ErrorCode } from '../core/errors.js';
import { REDACTED, secretForms } from './debug-log.js';

/** A MailboxError that also keeps what the server said and to which command (as nodemailer does). */
export class ProtocolError extends MailboxError {
  readonly response?: string;
  readonly command?: string;
  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown; response?: string; command?: string } = {}) {
    super(code, message, options);
    this.name = 'ProtocolError';
    this.response = options.response;
    this.command = options.command;
  }
}

export type FailureAccount = Pick<Account, 'name' | 'type' | 'host' | 'port' | 'security'>;

const TLS_UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Which security the usual ports of a protocol expect, e.g. "993 expects tls, 143 expects starttls". */
export function portExpectations(type: AccountType): string {
  const ports = DEFAULT_PORTS[type];
  const parts = [`${ports.tls} expects tls (implicit TLS)`, `${ports.starttls} expects starttls`];
  if (type === 'smtp') parts.push(`${ports.none} usually plain or starttls`);
  return `for ${type}, port ${parts.join(', port ')}`;
}

/** The security the port number suggests, when it is one of the protocol's usual ports. */
export function securityOfPort(type: AccountType, port: number): Security | undefined {
  const ports = DEFAULT_PORTS[type];
  if (port === ports.tls) return 'tls';
  if (port === ports.starttls) return 'starttls';
  return undefined;
}

/** Hint for "security does not match what the port speaks". */
export function securityMismatchHint(account: FailureAccount): string {
  const usual = securityOfPort(account.type, account.port);
  if (account.security === 'tls') {
    if (usual === 'starttls') return `port ${account.port} is the usual STARTTLS port for ${account.type}: set --security starttls, or use port ${DEFAULT_PORTS[account.type].tls} with --security tls`;
    return `port ${account.port} did not answer the TLS handshake as implicit TLS: if it is a plain/STARTTLS port, set --security starttls (${portExpectations(account.type)})`;
  }
  if (usual === 'tls') return `port ${account.port} is the usual implicit-TLS port for ${account.type}: set --security tls`;
  return `a server that accepts the connection but never greets is often an implicit-TLS port spoken to in plain text: if port ${account.port} is one, set --security tls (${portExpectations(account.type)})`;
}

/** The server speaks only a TLS version below our minimum (TLS 1.2). */
const OUTDATED_TLS = new Set(['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_NO_PROTOCOLS_AVAILABLE']);
const MIN_TLS_VERSION_NAME = 'TLS 1.2';

/** The server answered our TLS ClientHello in plain text: a plain or STARTTLS port. */
const PLAINTEXT_ANSWER = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_UNKNOWN_PROTOCOL', 'ERR_SSL_HTTP_REQUEST']);

/** A port that speaks implicit TLS was configured as starttls/none: found by a second, TLS connection. */
export function implicitTlsPort(account: FailureAccount): MailboxError {
  return new MailboxError('EPROTOCOL', `account ${account.name}: ${account.host}:${account.port} sent no greeting in plain text but answers a TLS handshake: it is an implicit-TLS port, not ${account.security}`, {
    hint: `set --security tls for port ${account.port} (${portExpectations(account.type)})`,
  });
}

function codeOf(err: unknown): string {
  const e = err as { code?: unknown; reason?: unknown };
  return typeof e?.code === 'string' ? e.code : '';
}

function messageOf(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

/** Network/TLS failure during `step` (resolve, connect, tls, greeting, ...) -> MailboxError. */
export function networkFailure(err: unknown, account: FailureAccount, step: string): MailboxError {
  if (err instanceof MailboxError) return err;
  const code = codeOf(err);
  const where = `${account.host}:${account.port}`;
  const prefix = `account ${account.name}:`;
  if (code === 'ENOTFOUND' || code === 'EAI_NONAME' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'ENODATA') {
    return new MailboxError('EUNREACHABLE', `${prefix} host ${account.host} not found (DNS ${code})`, {
      hint: 'check the host name for typos, and that this machine can resolve it (network, VPN, /etc/resolv.conf)',
      cause: err,
    });
  }
  if (code === 'ECONNREFUSED') {
    return new MailboxError('EUNREACHABLE', `${prefix} connection refused by ${where}`, {
      hint: `nothing accepts connections on port ${account.port}: check the port (${portExpectations(account.type)}) and that the server runs`,
      cause: err,
    });
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') {
    return new MailboxError('EUNREACHABLE', `${prefix} ${where} is unreachable (${code})`, { hint: 'check the network route and any firewall between here and the server', cause: err });
  }
  if (code === 'ETIMEDOUT') {
    const during = (err as { step?: string }).step ?? step;
    const mismatch = step === 'tls' || step === 'greeting';
    return new MailboxError('ETIMEDOUT', `${prefix} ${where} did not answer in time (${during})`, {
      hint: mismatch
        ? securityMismatchHint(account)
        : step === 'connect'
          ? 'a firewall may be dropping the connection, or the server is down; raise --timeout if the network is slow'
          : 'the server is slow or stuck; raise --timeout if the network is slow',
      cause: err,
    });
  }
  if (TLS_UNTRUSTED.has(code)) {
    return new MailboxError('ETLS', `${prefix} the certificate of ${where} is not trusted (${code})`, {
      hint: `trust its CA with --ca FILE, or pin it with --fingerprint SHA256 after checking it out of band`,
      cause: err,
    });
  }
  const text = messageOf(err);
  if (PLAINTEXT_ANSWER.has(code) && account.security === 'tls') {
    return new MailboxError('ETLS', `account ${account.name}: ${where} answered the TLS handshake in plain text: it is not an implicit-TLS port (${code})`, {
      hint: securityOfPort(account.type, account.port) === 'starttls' ? securityMismatchHint(account) : `set --security starttls (or none) for port ${account.port}, or use the implicit-TLS port (${portExpectations(account.type)})`,
      cause: err,
    });
  }
  if (code === 'EREPLY') {
    const reply = err as { command: string; response: string; temporary?: boolean; greeting?: boolean; bye?: boolean };
    if (reply.greeting) return greetingRefused(account.type, reply.response, Boolean(reply.temporary), account);
    const said = reply.response.replace(/\r?\n/g, ' ').slice(0, 500);
    const what = reply.bye ? `${where} ended the session during ${reply.command}` : `${where} refused ${reply.command}`;
    const startTls = /^(STARTTLS|STLS)$/i.test(reply.command);
    return new ProtocolError(reply.temporary ? 'ETEMPFAIL' : startTls ? 'ETLS' : 'EPROTOCOL', `${prefix} ${what}: ${said}`, {
      hint: reply.temporary ? 'a temporary refusal: try again later' : reply.bye ? 'the server closed the session; its log may say why' : undefined,
      response: reply.response,
      command: reply.command,
      cause: err,
    });
  }
  if (code === 'EPROTOCOL') {
    return new MailboxError('EPROTOCOL', `${prefix} unexpected reply from ${where} (${step}): ${text}`, {
      hint: step === 'greeting' ? securityMismatchHint(account) : `is ${where} really a ${account.type} server?`,
      cause: err,
    });
  }
  if (OUTDATED_TLS.has(code) || /alert protocol version|unsupported protocol/i.test(text)) {
    return new MailboxError('ETLS', `${prefix} ${where} and mailbox share no TLS version: the server offers only TLS older than ${MIN_TLS_VERSION_NAME} (${code || text})`, {
      hint: `mailbox requires TLS 1.2 or newer (RFC 8996 retired TLS 1.0 and 1.1): the server's TLS configuration must be updated; there is no option to allow older versions`,
      cause: err,
    });
  }
  if (code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' || code === 'ERR_SSL_NO_SHARED_CIPHER') {
    return new MailboxError('ETLS', `${prefix} ${where} rejected the TLS handshake: no cipher suite or key both sides accept (${code})`, {
      hint: "the server's TLS configuration allows only ciphers that are considered broken; it must offer TLS 1.2+ with a current cipher suite",
      cause: err,
    });
  }
  if (step === 'tls' || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /SSL|TLS|handshake/i.test(text)) {
    return new MailboxError('ETLS', `${prefix} TLS handshake with ${where} failed: ${text}`, { hint: securityMismatchHint(account), cause: err });
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNCLOSED') {
    return new MailboxError('EPROTOCOL', `${prefix} ${where} closed the connection (${step}): ${text}`, {
      hint: step === 'greeting' ? securityMismatchHint(account) : 'the server dropped the connection; its log may say why',
      cause: err,
    });
  }
  return new MailboxError('EPROTOCOL', `${prefix} ${step} failed on ${where}: ${text}`, { cause: err });
}

/**
 * A server that turned us away in its greeting (SMTP 421/554, IMAP "* BYE", POP3 "-ERR"). Temporary
 * (75) only when the server says so (SMTP 4xx, a temporary response code); else 69: the service is
 * not available to us, and retrying at once will not change that.
 */
export function greetingRefused(type: AccountType, response: string, temporary: boolean, account?: FailureAccount): ProtocolError {
  const who = account ? `account ${account.name}: ${account.host}:${account.port}` : `the ${type.toUpperCase()} server`;
  const text = response.replace(/\r?\n/g, ' ').slice(0, 500);
  if (temporary) {
    return new ProtocolError('ETEMPFAIL', `${who} refused the connection for now: ${text}`, {
      hint: 'the server is busy, limiting connections or shutting down: try again later',
      response,
      command: 'greeting',
    });
  }
  return new ProtocolError('EUNREACHABLE', `${who} refused the connection in its greeting: ${text}`, {
    hint: 'the server turned this client away (it may not offer the service to this address); its administrator or log can say why',
    response,
    command: 'greeting',
  });
}

/** RFC 2449 response codes are hierarchical ("SYS/TEMP/DISK"): the class is the leading part. */
function pop3CodeIs(code: string | undefined, ...classes: string[]): boolean {
  return code !== undefined && classes.some((c) => code === c || code.startsWith(`${c}/`));
}

/** POP3 -ERR: RFC 2449/3206 response codes decide the class; a bare -ERR to a login is an auth failure. */
export function pop3Failure(
  response: string,
  command: string,
  context: { login?: boolean; user?: string; mechanisms?: string[]; account?: FailureAccount } = {},
): ProtocolError {
  const code = /^-ERR \[([^\]]+)\]/i.exec(response)?.[1]?.toUpperCase();
  const text = response.replace(/^-ERR\s*/i, '');
  const shown = command.split(' ')[0]!.toUpperCase();
  if (command === 'greeting') return greetingRefused('pop3', response, pop3CodeIs(code, 'IN-USE', 'LOGIN-DELAY', 'SYS/TEMP'), context.account);
  if (pop3CodeIs(code, 'IN-USE', 'LOGIN-DELAY', 'SYS/TEMP')) {
    return new ProtocolError('ETEMPFAIL', `the POP3 server refused ${shown} for now: ${text}`, {
      hint: code === 'IN-USE' ? 'another client holds the mailbox; try again when it is done' : 'a temporary server condition: try again later',
      response,
      command: shown,
    });
  }
  if (pop3CodeIs(code, 'AUTH') || (context.login && !pop3CodeIs(code, 'SYS/PERM'))) {
    const mechs = context.mechanisms?.length ? ` (server offers ${context.mechanisms.join(' ')})` : '';
    return new ProtocolError('EAUTH', `authentication failed${context.user ? ` for user ${context.user}` : ''}: ${text}`, {
      hint: `check the user name and password${mechs}; update the password with mailbox edit NAME --password-stdin`,
      response,
      command: shown,
    });
  }
  return new ProtocolError('EPROTOCOL', `the POP3 server refused ${shown}: ${text}`, { response, command: shown });
}

/** `text` with every form of `secret` (plain, quoted, base64, SASL payloads) replaced: for server replies quoted in errors. */
export function redactSecret(text: string, secret: string | undefined, user?: string): string {
  if (!secret) return text;
  let out = text;
  for (const form of secretForms(secret, user)) if (out.includes(form)) out = out.split(form).join(REDACTED);
  return out;
}
