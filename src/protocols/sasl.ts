// SASL (RFC 4422) for the three protocols' logins: the payloads, one client exchange per mechanism,
// and one driver for the exchange whatever the protocol carrying it. The payloads are also what the
// redaction recognises (base64 of UTF-8 credentials).
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

/** RFC 4616 PLAIN: authzid (empty unless given), authcid, password. */
export function plainPayload(user: string, secret: string, authzid = ''): string {
  return base64(`${authzid}\0${user}\0${secret}`);
}

/** Google/Microsoft XOAUTH2: the bearer token for the user. */
export function xoauth2Payload(user: string, token: string): string {
  return base64(`user=${user}\x01auth=Bearer ${token}\x01\x01`);
}

/** RFC 7628 OAUTHBEARER, with the host and port the connection went to (as imapflow builds it). */
export function oauthBearerPayload(user: string, host: string, port: number, token: string): string {
  return base64(`n,a=${user},\x01host=${host}\x01port=${port}\x01auth=Bearer ${token}\x01\x01`);
}

/** RFC 7628 3.2.3: the client's answer to an OAUTHBEARER error challenge, a single %x01, base64. */
export const OAUTHBEARER_ABORT = 'AQ==';

export function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

export type SaslName = 'PLAIN' | 'LOGIN' | 'XOAUTH2' | 'OAUTHBEARER' | 'CRAM-MD5' | 'SCRAM-SHA-256';

/** One client side of an exchange: base64 in, base64 out, as the protocols carry it. */
export interface SaslClient {
  readonly name: SaslName;
  /** The initial response, for mechanisms that start with one (sent with the command when the protocol allows). */
  initial(): Promise<string | undefined>;
  /** The answer to a server challenge; an empty one (OAUTHBEARER: %x01) ends an exchange the server wants to end (an error). */
  answer(challenge: string): Promise<string>;
  /** Once the server said yes: why that cannot be trusted (SCRAM: the server did not prove it knows the password), or undefined. */
  distrust(): string | undefined;
}

/**
 * Mechanisms that answer from a fixed list (the first may be an initial response), then with `done`
 * to end an exchange the server answered with an error challenge: an empty line, or OAUTHBEARER's %x01.
 */
function listed(name: SaslName, responses: string[], initial: boolean, done = ''): SaslClient {
  const pending = [...responses];
  return {
    name,
    initial: async () => (initial ? pending.shift() : undefined),
    answer: async () => pending.shift() ?? done,
    distrust: () => undefined,
  };
}

/** RFC 2195 CRAM-MD5: the user and the HMAC-MD5 of the challenge keyed with the password. */
function cramMd5(user: string, secret: string): SaslClient {
  let answered = false;
  return {
    name: 'CRAM-MD5',
    initial: async () => undefined,
    async answer(challenge) {
      if (answered) return '';
      answered = true;
      const digest = createHmac('md5', Buffer.from(secret, 'utf8')).update(Buffer.from(challenge, 'base64')).digest('hex');
      return base64(`${user} ${digest}`);
    },
    distrust: () => undefined,
  };
}

const pbkdf2Async = promisify(pbkdf2);
/** RFC 7677 asks for at least 4096; far more from a server is a way to make the client burn CPU. */
const SCRAM_MIN_ITERATIONS = 4096;
const SCRAM_MAX_ITERATIONS = 1_000_000;

/** RFC 5802: "=" and "," in a user name are escaped. */
function saslName(user: string): string {
  return user.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** The attributes of a SCRAM message ("r=...,s=...,i=..."). */
function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out.set(part[0]!, part.slice(2));
  }
  return out;
}

/**
 * RFC 5802/7677 SCRAM-SHA-256, without channel binding. Hand-written: the npm registry has clients
 * for SCRAM-SHA-1 only (unmaintained); the password is prepared with SASLprep (RFC 4013) by a
 * maintained library, and used as it is when SASLprep refuses it (as PostgreSQL's clients do).
 * The server must prove it knows the password too: distrust() says when it did not.
 */
export function scramSha256(user: string, secret: string, nonce = randomBytes(18).toString('base64')): SaslClient {
  const firstBare = `n=${saslName(user)},r=${nonce}`;
  let expectedSignature: Buffer | undefined;
  let verified = false;
  let step = 0;
  const hmac = (key: Buffer, text: string | Buffer) => createHmac('sha256', key).update(text).digest();
  const prepared = async () => {
    const { default: saslprep } = await import('@mongodb-js/saslprep');
    try {
      return saslprep(secret);
    } catch {
      return secret;
    }
  };
  return {
    name: 'SCRAM-SHA-256',
    initial: async () => base64(`n,,${firstBare}`),
    async answer(challenge) {
      const message = Buffer.from(challenge, 'base64').toString('utf8');
      const attrs = attributes(message);
      step++;
      if (step === 1) {
        const serverNonce = attrs.get('r') ?? '';
        const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
        const iterations = Number(attrs.get('i'));
        // A server that does not extend our nonce, or asks for absurd work, gets no proof: the empty answer ends it.
        if (!serverNonce.startsWith(nonce) || serverNonce === nonce || salt.length === 0) return '';
        if (!Number.isInteger(iterations) || iterations < SCRAM_MIN_ITERATIONS || iterations > SCRAM_MAX_ITERATIONS) return '';
        const salted = await pbkdf2Async(Buffer.from(await prepared(), 'utf8'), salt, iterations, 32, 'sha256');
        const clientKey = hmac(salted, 'Client Key');
        const storedKey = createHash('sha256').update(clientKey).digest();
        const finalWithoutProof = `c=${base64('n,,')},r=${serverNonce}`;
        const authMessage = `${firstBare},${message},${finalWithoutProof}`;
        const signature = hmac(storedKey, authMessage);
        const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!));
        expectedSignature = hmac(hmac(salted, 'Server Key'), authMessage);
        return base64(`${finalWithoutProof},p=${proof.toString('base64')}`);
      }
      const offered = Buffer.from(attrs.get('v') ?? '', 'base64');
      verified = Boolean(expectedSignature) && offered.length === expectedSignature!.length && timingSafeEqual(offered, expectedSignature!);
      return '';
    },
    distrust: () => (verified ? undefined : 'the server accepted the SCRAM-SHA-256 login without proving that it knows the password (its signature was missing or wrong)'),
  };
}

export interface SaslAccount {
  user: string;
  secret: string;
  /** Where the connection went (OAUTHBEARER names it). */
  host: string;
  port: number;
}

/** The client side of `name` for this login. */
export function saslClient(name: SaslName, login: SaslAccount): SaslClient {
  const { user, secret } = login;
  switch (name) {
    case 'PLAIN':
      return listed(name, [plainPayload(user, secret)], true);
    case 'LOGIN':
      // No initial response: the server asks for the user, then the password.
      return listed(name, [base64(user), base64(secret)], false);
    case 'XOAUTH2':
      return listed(name, [xoauth2Payload(user, secret)], true);
    case 'OAUTHBEARER':
      return listed(name, [oauthBearerPayload(user, login.host, login.port, secret)], true, OAUTHBEARER_ABORT);
    case 'CRAM-MD5':
      return cramMd5(user, secret);
    case 'SCRAM-SHA-256':
      return scramSha256(user, secret);
  }
}

/** How one protocol carries an exchange: its commands, and where a reply asks for more. */
export interface SaslCarrier<R> {
  /** Sends the AUTH/AUTHENTICATE command, with the initial response when there is one to send inline. */
  start(initial: string | undefined): Promise<R>;
  /** Sends one answer (a line of base64, or an empty line). */
  respond(answer: string): Promise<R>;
  /** The challenge (base64) when the reply asks for more, undefined when it is the final reply. */
  challenge(reply: R): string | undefined;
  /** Whether the initial response may go with the command (SASL-IR, RFC 5034's 255 octets, ...). */
  inline(initial: string): boolean;
  /** Whether the final reply is a yes. */
  succeeded(reply: R): boolean;
}

/** More rounds than any mechanism here needs: a server that keeps challenging is stopped. */
const MAX_ROUNDS = 8;

/** The server kept challenging past any real exchange (the carrier words it as a protocol violation). */
export class SaslRunaway extends Error {}

/** Runs the exchange; resolves with the final reply (success or not), or rejects when the server will not stop. */
export async function runSasl<R>(client: SaslClient, carrier: SaslCarrier<R>): Promise<R> {
  const initial = await client.initial();
  const inline = initial !== undefined && carrier.inline(initial);
  let unsent = inline ? undefined : initial;
  let reply = await carrier.start(inline ? initial : undefined);
  for (let round = 0; ; round++) {
    const challenge = carrier.challenge(reply);
    if (challenge === undefined) return reply;
    if (round >= MAX_ROUNDS) throw new SaslRunaway(`the server kept asking for more after ${MAX_ROUNDS} answers to ${client.name}`);
    // A mechanism with an initial response the command could not carry sends it at the first (empty) challenge.
    const answer = unsent ?? (await client.answer(challenge));
    unsent = undefined;
    reply = await carrier.respond(answer);
  }
}
