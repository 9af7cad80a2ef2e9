// The runner's protocol side as `mailbox run` wires it (and the tests against real servers): the
// adapters of src/protocols/open.ts, the SMTP cycle failure in words, the debug log of an account.
import type { Account } from '../core/account.js';
import { openIncoming, openOutgoing, openWatch, preloadAdapters } from '../protocols/open.js';
import type { DebugLog } from '../protocols/debug-log.js';
import type { LookupFn } from '../protocols/net/socket.js';
import type { Adapters } from './cycles.js';

export const protocolAdapters: Adapters = {
  openIncoming,
  openOutgoing,
  openWatch,
  preload: preloadAdapters,
  async sendFailure(err, account) {
    const { smtpAccountFailure } = await import('../protocols/smtp/failures.js');
    return smtpAccountFailure(err, account);
  },
};

/** The adapters with every server name resolved through `lookup` (MAILBOX_DNS_SERVERS); as they are without one. */
export function resolvingWith(adapters: Adapters, lookup: LookupFn | undefined): Adapters {
  if (!lookup) return adapters;
  return {
    ...adapters,
    openIncoming: (account, options) => adapters.openIncoming(account, { ...options, lookup }),
    openOutgoing: (account, options) => adapters.openOutgoing(account, { ...options, lookup }),
    ...(adapters.openWatch ? { openWatch: (account, options) => adapters.openWatch!(account, { ...options, lookup }) } : {}),
  };
}

/** Opens an account's debug log under `logDir` when its debug flag is on; the secret is scrubbed from it. */
export function debugLogs(logDir: string): (account: Account, secret: string | undefined) => Promise<DebugLog | undefined> {
  return async (account, secret) => {
    if (!account.debug) return undefined;
    const { openDebugLog, debugLogPath } = await import('../protocols/debug-log.js');
    return openDebugLog(debugLogPath(logDir, account.name), { protocol: account.type, secrets: secret ? [secret] : [], user: account.user, account: account.name });
  };
}
