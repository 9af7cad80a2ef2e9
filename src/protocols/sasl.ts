// SASL payloads shared by the three protocols' logins and the redaction of debug logs (base64 of
// UTF-8 credentials).

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
