// IMAP strings as we write them in our own commands (RFC 3501 4.3, 5.1.3).

/** A value that cannot go in a quoted string (not plain printable ASCII) must be sent as a literal. */
export function needsLiteral(value: string): boolean {
  return /[^\x20-\x7e]/.test(value);
}

export function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** RFC 3501 modified UTF-7 for mailbox names. */
export function encodeMailboxName(name: string): string {
  return name.replace(/&/g, '&-').replace(/[^\x20-\x7e]+/g, (run) => {
    const utf16 = Buffer.from(run, 'utf16le').swap16();
    return `&${utf16.toString('base64').replace(/=+$/, '').replace(/\//g, ',')}-`;
  });
}

/** The inverse of encodeMailboxName: "&AOQ-" -> "ä", "&-" -> "&"; a name that is not valid modified UTF-7 comes back as it is. */
export function decodeMailboxName(name: string): string {
  return name.replace(/&([^-]*)-/g, (whole, run: string) => {
    if (run === '') return '&';
    const bytes = Buffer.from(run.replace(/,/g, '/'), 'base64');
    if (bytes.length % 2 !== 0) return whole;
    return bytes.swap16().toString('utf16le');
  });
}

/** The capability list of a CAPABILITY response or a [CAPABILITY ...] response code, if the line has one. */
export function capabilitiesOf(line: string): string[] | undefined {
  const match = /\[CAPABILITY ([^\]]*)\]/i.exec(line) ?? /^\* CAPABILITY (.*)$/i.exec(line);
  return match ? match[1]!.trim().split(/\s+/) : undefined;
}
