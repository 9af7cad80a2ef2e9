// The words for a weak setting the user has just chosen (jobs/accounts/weak-choices.ts), said once,
// when it is chosen. They say what the setting does, no more: STARTTLS is encrypted once upgraded,
// and mailbox never goes on without the upgrade.
import type { WeakChoice } from '../jobs/accounts/weak-choices.js';

/** `apply` names the document's fields, `add` and `edit` their flags. */
export type ChoiceSource = 'flags' | 'document';

export function choiceWarning(c: WeakChoice, source: ChoiceSource): string {
  const head = `account ${c.account}`;
  if (c.field === 'insecure') {
    const instead = source === 'flags' ? '--ca FILE or --fingerprint SHA256' : '"tls": {"ca": FILE} or {"fingerprint": SHA256}';
    return `${head}: the server certificate is not verified (insecure): anyone on the path can pose as the server and read the password. Trust a CA file or pin the fingerprint instead (${instead}).`;
  }
  if (c.value === 'starttls') {
    return `${head}: security starttls: the connection starts unencrypted and is encrypted after STARTTLS, before the login; mailbox never continues in plain text (no STARTTLS, no connection). tls (encrypted from the first byte) is preferred where the server offers it.`;
  }
  return `${head}: security none: nothing is encrypted; the password and every message can be read and changed by anyone on the path. Use it only on this machine or a network you trust.`;
}
