// Which folders and files mailbox may trust, decided as ssh's StrictModes does: a folder that another
// user can write (or owns) lets them plant links and files that mailbox would then append to, rewrite
// or read back, and a config another user can write names the password command mailbox runs. Such a
// folder or file is refused, naming the mode. Pure: the callers stat it.
import { MailboxError } from './errors.js';

export interface Ownership {
  mode: number;
  uid: number;
}

/** A mode as `ls -l` users read it: 0755, 01777. */
export function octalMode(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}

/**
 * The refusal (78) when `target` can be written by anyone but its owner, or (a folder) is owned by
 * another user than `self` or root; undefined when it is safe. `self` undefined: our uid is unknown.
 */
export function unsafeToTrust(kind: 'folder' | 'file', target: string, st: Ownership, self: number | undefined): MailboxError | undefined {
  const writers = st.mode & 0o002 ? 'every user' : st.mode & 0o020 ? 'its group' : undefined;
  if (writers && kind === 'file') {
    return new MailboxError('ECONFIG', `${target} is writable by ${writers} (mode ${octalMode(st.mode)}): mailbox does not use it`, {
      hint: `another user could change what it says; take their write permission away (chmod go-w ${target})`,
    });
  }
  if (writers) {
    return new MailboxError('ECONFIG', `${target} is writable by ${writers} (mode ${octalMode(st.mode)}): mailbox does not keep its files there`, {
      hint: `another user could plant links or files in it; take their write permission away (chmod go-w ${target}) or choose a folder of your own`,
    });
  }
  if (kind === 'folder' && self !== undefined && st.uid !== self && st.uid !== 0) {
    return new MailboxError('ECONFIG', `${target} belongs to another user (uid ${st.uid}, mode ${octalMode(st.mode)}): mailbox does not keep its files there`, {
      hint: 'choose a folder of your own',
    });
  }
  return undefined;
}

/** The refusal (78) of a state or log file that is a link, not a plain file, or has other names. */
export function notPlainFile(file: string, why: string): MailboxError {
  return new MailboxError('ECONFIG', `${file} ${why}: mailbox does not use it`, {
    hint: 'state and log files are plain files with one name; someone with write access to the folder may have put it there: look at it, then remove it',
  });
}
