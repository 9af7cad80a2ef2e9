// Every failure of one conversation with a server, made where it happens: a Peer names the account
// and the server in each message and knows how far the conversation got, because that decides the
// hint (silence at the greeting suggests the wrong security for the port; after login it does not).
// A reply quoted in a failure may quote the secret back: the adapter boundary redacts it
// (redaction.ts, open.ts), for every failure alike.
import type { Account } from '../../core/account.js';
import { protocolError, replyText, type ProtocolError, type ProtocolFailure } from '../errors.js';
import { codeOf, looksLikeTls, systemFailureKind } from './errno.js';
import { noStartTls, plaintextAnswer, portExpectations, securityMismatch, useSecurity, type Advice } from './security-advice.js';

export type PeerAccount = Pick<Account, 'name' | 'type' | 'host' | 'port' | 'security'> & Partial<Pick<Account, 'user'>>;

/** The stages of a conversation as the probe names them, and the readers' operations after login. */
export type Stage = 'setup' | 'resolve' | 'connect' | 'tls' | 'greeting' | 'capabilities' | 'token' | 'login' | 'probe' | 'send' | 'session' | 'select' | 'list' | 'fetch' | 'delete';

const MIN_TLS_VERSION_NAME = 'TLS 1.2';
const TEMPORARY = 'a temporary refusal: try again later';

export class Peer {
  /** Where the conversation is; whoever drives it moves it on. */
  stage: Stage = 'connect';

  constructor(readonly account: PeerAccount) {}

  /** "host:port". */
  get where(): string {
    return `${this.account.host}:${this.account.port}`;
  }

  /** "account NAME: host:port", the start of most messages. */
  get who(): string {
    return `account ${this.account.name}: ${this.where}`;
  }

  /** A failure of this account (the factory, with the account filled in). */
  fail(failure: Omit<ProtocolFailure, 'account'>): ProtocolError {
    return protocolError({ ...failure, account: this.account.name });
  }

  /** At the handshake or the greeting, a failure most often means the security does not fit the port. */
  private mismatchOr(advice: Advice): Advice {
    return this.stage === 'tls' || this.stage === 'greeting' ? securityMismatch(this.account) : advice;
  }

  timedOut(during: string, cause?: unknown): ProtocolError {
    const advice = this.mismatchOr({
      hint:
        this.stage === 'connect'
          ? 'a firewall may be dropping the connection, or the server is down; allow a longer timeout if the network is slow'
          : 'the server is slow or stuck; allow a longer timeout if the network is slow',
    });
    return this.fail({ code: 'ETIMEDOUT', message: `${this.who} did not answer in time (${during})`, ...advice, cause });
  }

  /** The server closed the connection (or reset it); `detail` says what we were doing. */
  closed(detail: string, cause?: unknown): ProtocolError {
    if (this.stage === 'tls' || looksLikeTls(codeOf(cause), detail)) return this.tlsFailed(detail, cause);
    const advice = this.mismatchOr({ hint: 'the server dropped the connection; its log may say why' });
    return this.fail({ code: 'EPROTOCOL', message: `${this.who} closed the connection (${this.stage}): ${detail}`, ...advice, cause });
  }

  /** The server broke the protocol: garbage, a reply out of turn, more than any real reply holds. */
  violation(detail: string, response?: string): ProtocolError {
    const advice = this.mismatchOr({ hint: `is ${this.where} really a ${this.account.type} server?` });
    return this.fail({ code: 'EPROTOCOL', message: `account ${this.account.name}: unexpected reply from ${this.where} (${this.stage}): ${detail}`, ...advice, response });
  }

  /** A reply that refuses `command`; refusing STARTTLS is a TLS failure, a temporary refusal is 75. */
  refused(command: string, response: string, temporary: boolean): ProtocolError {
    const code = temporary ? 'ETEMPFAIL' : /^(STARTTLS|STLS)$/i.test(command) ? 'ETLS' : 'EPROTOCOL';
    return this.fail({ code, message: `${this.who} refused ${command}: ${replyText(response)}`, hint: temporary ? TEMPORARY : undefined, response, command });
  }

  /** IMAP "* BYE" in the middle of a command. */
  ended(command: string, response: string, temporary: boolean): ProtocolError {
    return this.fail({
      code: temporary ? 'ETEMPFAIL' : 'EPROTOCOL',
      message: `${this.who} ended the session during ${command}: ${replyText(response)}`,
      hint: temporary ? TEMPORARY : 'the server closed the session; its log may say why',
      response,
      command,
    });
  }

  /**
   * A server that turned us away in its greeting (SMTP 421/554, IMAP "* BYE", POP3 "-ERR"). Temporary
   * (75) only when the server says so; else 69: the service is not available to us, and retrying at
   * once will not change that.
   */
  greetingRefused(response: string, temporary: boolean): ProtocolError {
    const text = replyText(response);
    if (temporary) {
      return this.fail({ code: 'ETEMPFAIL', message: `${this.who} refused the connection for now: ${text}`, hint: 'the server is busy, limiting connections or shutting down: try again later', response, command: 'greeting' });
    }
    return this.fail({
      code: 'EUNREACHABLE',
      message: `${this.who} refused the connection in its greeting: ${text}`,
      hint: 'the server turned this client away (it may not offer the service to this address); its administrator or log can say why',
      response,
      command: 'greeting',
    });
  }

  /** STARTTLS/STLS was configured but the server does not offer it. */
  startTlsNotOffered(command: string): ProtocolError {
    return this.fail({ code: 'ETLS', message: `${this.who} does not offer ${command}, so the connection would stay unencrypted`, ...noStartTls(this.account.type) });
  }

  /** A port that speaks implicit TLS was configured as starttls/none: found by a second, TLS connection. */
  implicitTlsPort(): ProtocolError {
    return this.fail({
      code: 'EPROTOCOL',
      message: `${this.who} sent no greeting in plain text but answers a TLS handshake: it is an implicit-TLS port, not ${this.account.security}`,
      hint: `port ${this.account.port} speaks implicit TLS (${portExpectations(this.account.type)})`,
      fixes: [useSecurity('tls')],
    });
  }

  private tlsFailed(detail: string, cause?: unknown): ProtocolError {
    return this.fail({ code: 'ETLS', message: `account ${this.account.name}: TLS handshake with ${this.where} failed: ${detail}`, ...securityMismatch(this.account), cause });
  }

  /** An error of Node or a library (errno, OpenSSL code), translated by the table in errno.ts. */
  system(err: unknown): ProtocolError {
    const code = codeOf(err);
    const text = (err as Error | undefined)?.message ?? String(err);
    const { host, port, type } = this.account;
    const at = { cause: err };
    switch (systemFailureKind(code, text)) {
      case 'dns':
        return this.fail({ code: 'EUNREACHABLE', message: `account ${this.account.name}: host ${host} not found (DNS ${code})`, hint: 'check the host name for typos, and that this machine can resolve it (network, VPN, /etc/resolv.conf)', ...at });
      case 'refused':
        return this.fail({ code: 'EUNREACHABLE', message: `account ${this.account.name}: connection refused by ${this.where}`, hint: `nothing accepts connections on port ${port}: check the port (${portExpectations(type)}) and that the server runs`, ...at });
      case 'unreachable':
        return this.fail({ code: 'EUNREACHABLE', message: `${this.who} is unreachable (${code})`, hint: 'check the network route and any firewall between here and the server', ...at });
      case 'timeout':
        return this.timedOut((err as { step?: string }).step ?? this.stage, err);
      case 'untrusted':
        return this.fail({
          code: 'ETLS',
          message: `account ${this.account.name}: the certificate of ${this.where} is not trusted (${code})`,
          hint: 'trust its CA, or pin its certificate after checking it out of band',
          fixes: [{ field: 'ca', value: 'FILE' }, { field: 'fingerprint', value: 'SHA256' }],
          ...at,
        });
      case 'plaintext':
        if (this.account.security !== 'tls') return this.tlsFailed(text, err);
        return this.fail({ code: 'ETLS', message: `${this.who} answered the TLS handshake in plain text: it is not an implicit-TLS port (${code})`, ...plaintextAnswer(this.account), ...at });
      case 'outdated':
        return this.fail({
          code: 'ETLS',
          message: `${this.who} and mailbox share no TLS version: the server offers only TLS older than ${MIN_TLS_VERSION_NAME} (${code || text})`,
          hint: 'mailbox requires TLS 1.2 or newer (RFC 8996 retired TLS 1.0 and 1.1): the server\'s TLS configuration must be updated; there is no option to allow older versions',
          ...at,
        });
      case 'cipher':
        return this.fail({
          code: 'ETLS',
          message: `${this.who} rejected the TLS handshake: no cipher suite or key both sides accept (${code})`,
          hint: "the server's TLS configuration allows only ciphers that are considered broken; it must offer TLS 1.2+ with a current cipher suite",
          ...at,
        });
      case 'closed':
        return this.closed(text, err);
      default:
        if (this.stage === 'tls' || looksLikeTls(code, text)) return this.tlsFailed(text, err);
        return this.fail({ code: 'EPROTOCOL', message: `account ${this.account.name}: ${this.stage} failed on ${this.where}: ${text}`, ...at });
    }
  }
}
