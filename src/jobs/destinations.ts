// Opens an account's destination (issue 13): the adapter for each kind, with what it needs from the
// edge (the environment an MDA command starts from, process-group control).
import type { Destination, HandOffTarget } from '../core/destination.js';
import { lmtpTarget } from '../protocols/lmtp/target.js';
import { maildirTarget } from '../store/destinations/maildir.js';
import { mdaTarget } from '../store/destinations/mda.js';
import type { GroupHost } from '../store/process-group.js';
import type { OpenTarget } from './handoff.js';

export interface DestinationEdge {
  env: NodeJS.ProcessEnv;
  host: GroupHost;
  /** How long an MDA command may run (default 5 minutes). */
  mdaLimitMs?: number;
  /** LMTP connect and reply timeout (default 60 s). */
  lmtpTimeoutMs?: number;
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
        return mdaTarget(d.command, { env: edge.env, host: edge.host, limitMs: edge.mdaLimitMs ?? MDA_LIMIT_MS, running });
      case 'lmtp':
        return lmtpTarget('socket' in d ? { socket: d.socket } : { host: d.host, port: d.port }, { timeoutMs: edge.lmtpTimeoutMs ?? 60_000 });
    }
  };
  return { open, running };
}
