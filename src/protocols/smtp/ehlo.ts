// The EHLO reply's extensions, read the same way by the probe and by the sender's login (nodemailer
// keeps only the AUTH mechanisms it implements itself: PLAIN, LOGIN, CRAM-MD5, XOAUTH2).

/**
 * The arguments of an EHLO extension, or undefined when it is not offered. Old servers (and
 * Outlook-era clients' expectations) also announce "AUTH=LOGIN PLAIN": both spellings are merged.
 */
export function extension(lines: string[], name: string): string[] | undefined {
  let found: string[] | undefined;
  for (const line of lines) {
    const [keyword, ...args] = line.trim().split(/\s+/);
    const upper = keyword?.toUpperCase() ?? '';
    if (upper === name) found = [...(found ?? []), ...args];
    else if (name === 'AUTH' && upper.startsWith('AUTH=')) found = [...(found ?? []), keyword!.slice(5), ...args];
  }
  return found && [...new Set(found)];
}

/** The AUTH mechanisms of a whole EHLO reply as nodemailer hands it over ("250-...\n250 ..."), upper case. */
export function authMechanisms(reply: string): string[] {
  const lines = reply.split(/\r?\n/).map((line) => line.replace(/^\d{3}[ -]/, '')).slice(1);
  return (extension(lines, 'AUTH') ?? []).map((m) => m.toUpperCase());
}
