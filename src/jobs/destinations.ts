// Opens an account's destination (issue 13): the adapter for each kind, with what it needs from the
// edge (the environment an MDA command starts from, process-group control).
import type { Account } from '../core/account.js';
import { parseDestination, type Destination, type HandOffTarget } from '../core/destination.js';
import type { OAuthProfile } from '../core/oauth.js';
import { lmtpTarget } from '../protocols/lmtp/target.js';
import type { LookupFn } from '../protocols/net/socket.js';
import { maildirTarget } from '../store/destinations/maildir.js';
import { mdaTarget } from '../store/destinations/mda.js';
import type { GroupHost } from '../store/process-group.js';
import type { OpenTarget } from './handoff.js';

export interface DestinationEdge {
  /** The environment an MDA command starts from, asked at each hand-off (secrets taken out: secretFreeEnv). */
  env: NodeJS.ProcessEnv | (() => NodeJS.ProcessEnv);
  host: GroupHost;
  /** How long an MDA command may run (default 5 minutes). */
  mdaLimitMs?: number;
  /** LMTP connect and reply timeout (default 60 s). */
  lmtpTimeoutMs?: number;
  /** MAILBOX_DNS_SERVERS: an LMTP host name resolved through it; absent: the system's. */
  lookup?: LookupFn;
}

export const MDA_LIMIT_MS = 5 * 60_000;

/** The opener, and the MDA groups at work (for the edge to kill should the runner end first). */
export function destinationOpener(edge: DestinationEdge): { open: OpenTarget; running: Set<number> } {
  const running = new Set<number>();
  const open = (d: Destination): HandOffTarget => {
    switch (d.kind) {
      case 'maildir':
        return maildirTarget(d.path);
      case 'mda':
        return mdaTarget(d.command, { env: typeof edge.env === 'function' ? edge.env() : edge.env, host: edge.host, limitMs: edge.mdaLimitMs ?? MDA_LIMIT_MS, running });
      case 'lmtp':
        return lmtpTarget('socket' in d ? { socket: d.socket } : { host: d.host, port: d.port }, { timeoutMs: edge.lmtpTimeoutMs ?? 60_000, lookup: edge.lookup });
    }
  };
  return { open, running };
}

/** Variables of mailbox's own that hold a secret: the token key, and the database's password (in the URL or PGPASSWORD). */
const OWN_SECRETS = ['MAILBOX_TOKEN_KEY', 'MAILBOX_DATABASE_URL', 'PGPASSWORD'];

/**
 * The runner's environment without the variables that hold secrets (an account's or an OAuth profile's
 * `env` secret source, mailbox's own): an MDA is another program, and gets none of them.
 */
export function secretFreeEnv(env: NodeJS.ProcessEnv, accounts: ReadonlyArray<Pick<Account, 'secret'>>, profiles: ReadonlyArray<Pick<OAuthProfile, 'clientSecret'>>): NodeJS.ProcessEnv {
  const hidden = new Set(OWN_SECRETS);
  for (const ref of [...accounts.map((a) => a.secret), ...profiles.map((p) => p.clientSecret)]) if (ref?.kind === 'env') hidden.add(ref.name);
  return Object.fromEntries(Object.entries(env).filter(([name]) => !hidden.has(name)));
}

/** `mailbox test` (issue 13): the account's destination checked, changing nothing; null without one. */
export async function checkDestination(account: Pick<Account, 'deliver'>, edge: DestinationEdge): Promise<{ ok: boolean; ms: number; detail: string } | null> {
  if (!account.deliver) return null;
  const started = performance.now();
  const target = destinationOpener(edge).open(parseDestination(account.deliver));
  try {
    const { ok, detail } = await target.check();
    return { ok, ms: Math.round(performance.now() - started), detail };
  } finally {
    await target.close().catch(() => undefined);
  }
}
