// SASL payloads shared by the POP3 client and the probe (base64, UTF-8 credentials).

/** RFC 4616 PLAIN: authzid empty, authcid, password. */
export function plainPayload(user: string, secret: string): string {
  return Buffer.from(`\0${user}\0${secret}`, 'utf8').toString('base64');
}

/** Google/Microsoft XOAUTH2: the bearer token for the user. */
export function xoauth2Payload(user: string, token: string): string {
  return Buffer.from(`user=${user}\x01auth=Bearer ${token}\x01\x01`, 'utf8').toString('base64');
}

export function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
