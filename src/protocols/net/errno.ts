// Node's errno codes, OpenSSL's TLS codes and the libraries' own, by what they mean for a mail
// connection: one table.

export type SystemFailureKind =
  | 'dns' // the host name does not resolve
  | 'refused' // nothing listens on the port
  | 'unreachable' // no route to the host
  | 'timeout'
  | 'closed' // the server dropped the connection
  | 'untrusted' // a certificate a library refused
  | 'plaintext' // the TLS ClientHello was answered in plain text
  | 'outdated' // the server speaks only TLS below 1.2
  | 'cipher'; // no cipher suite both sides accept

const KINDS: Record<SystemFailureKind, readonly string[]> = {
  dns: ['ENOTFOUND', 'EAI_NONAME', 'EAI_AGAIN', 'EAI_FAIL', 'ENODATA'],
  refused: ['ECONNREFUSED'],
  unreachable: ['EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'],
  // imapflow names its own timeouts (connect, greeting, socket, STARTTLS upgrade).
  timeout: ['ETIMEDOUT', 'ETIMEOUT', 'CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT'],
  closed: ['ECONNRESET', 'EPIPE'],
  untrusted: [
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'UNABLE_TO_GET_ISSUER_CERT',
    'CERT_UNTRUSTED',
    'CERT_HAS_EXPIRED',
    'CERT_NOT_YET_VALID',
    'ERR_TLS_CERT_ALTNAME_INVALID',
  ],
  plaintext: ['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_UNKNOWN_PROTOCOL', 'ERR_SSL_HTTP_REQUEST'],
  outdated: ['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_NO_PROTOCOLS_AVAILABLE'],
  cipher: ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'ERR_SSL_NO_SHARED_CIPHER'],
};

const BY_CODE = new Map<string, SystemFailureKind>(Object.entries(KINDS).flatMap(([kind, codes]) => codes.map((code) => [code, kind as SystemFailureKind])));

/** What a system error means, by its code; undefined for a code not in the table. */
export function systemFailureKind(code: string, message: string): SystemFailureKind | undefined {
  // OpenSSL builds that report a version mismatch without a code say so in the message.
  return BY_CODE.get(code) ?? (/alert protocol version|unsupported protocol/i.test(message) ? 'outdated' : undefined);
}

/** The system code of an error, or '' (errors from Node and the libraries carry it as `code`). */
export function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** Whether an error is a TLS one by its code or words (for codes the table does not list). */
export function looksLikeTls(code: string, message: string): boolean {
  return code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /SSL|TLS|handshake/i.test(message);
}
