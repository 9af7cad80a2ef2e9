// Where received mail goes next (issue 13): the account's destination, written as text in the config
// (`maildir:PATH`, `mda:COMMAND`, `lmtp:HOST:PORT`, `lmtp:unix:/PATH`) and parsed here, once, into
// what the hand-off opens. Absent: the store's own inbox, as always.
import { invalid } from './errors.js';
import { isHost } from './validate.js';

export type Destination =
  | { kind: 'maildir'; path: string }
  | { kind: 'mda'; command: string }
  | { kind: 'lmtp'; host: string; port: number }
  | { kind: 'lmtp'; socket: string };

const ACCEPTED = 'maildir:/PATH, mda:COMMAND, lmtp:HOST:PORT or lmtp:unix:/PATH';

/** A destination from its text form; `field` names the flag or key in the message. */
export function parseDestination(value: unknown, field = 'deliver'): Destination {
  const text = typeof value === 'string' ? value.trim() : '';
  const colon = text.indexOf(':');
  const scheme = colon < 0 ? '' : text.slice(0, colon).toLowerCase();
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  if (scheme === 'maildir') {
    // Absolute: the runner's working folder is nobody's business.
    if (!rest.startsWith('/') || rest.includes('\0')) throw invalid(field, value, `maildir:/ABSOLUTE/PATH (got a path that is not absolute)`);
    return { kind: 'maildir', path: rest.replace(/\/+$/, '') || '/' };
  }
  if (scheme === 'mda') {
    if (!rest.trim() || /[\r\n\0]/.test(rest)) throw invalid(field, value, 'mda:COMMAND, a command on one line (run by /bin/sh, the message on its standard input)');
    return { kind: 'mda', command: rest.trim() };
  }
  if (scheme === 'lmtp') {
    if (rest.toLowerCase().startsWith('unix:')) {
      const socket = rest.slice(5);
      if (!socket.startsWith('/')) throw invalid(field, value, 'lmtp:unix:/ABSOLUTE/PATH of the LMTP socket');
      return { kind: 'lmtp', socket };
    }
    // [IPv6]:PORT, or HOST:PORT
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(rest) ?? /^([^:]+):(\d+)$/.exec(rest);
    if (!m || !isHost(m[1]!)) throw invalid(field, value, 'lmtp:HOST:PORT (e.g. lmtp:127.0.0.1:24) or lmtp:unix:/PATH');
    const port = Number(m[2]);
    if (!(port >= 1 && port <= 65535)) throw invalid(field, value, 'lmtp:HOST:PORT with a port from 1 to 65535');
    return { kind: 'lmtp', host: m[1]!, port };
  }
  throw invalid(field, value, ACCEPTED);
}

/** The text form, as kept in the config and shown. */
export function destinationText(d: Destination): string {
  switch (d.kind) {
    case 'maildir':
      return `maildir:${d.path}`;
    case 'mda':
      return `mda:${d.command}`;
    case 'lmtp':
      return 'socket' in d ? `lmtp:unix:${d.socket}` : `lmtp:${d.host.includes(':') ? `[${d.host}]` : d.host}:${d.port}`;
  }
}

/** Who and what a hand-off is about: the MDA's environment, LMTP's envelope. */
export interface HandOffEnvelope {
  account: string;
  emailId: string;
  /** Stable across retries (the message's id at its source), so a destination can drop a repeat. */
  sourceId: string;
  folder: string | null;
  /** The sender (the From address), or null. */
  from: string | null;
  recipient: string;
}

/** What a destination did with a message: took it, refused it for now (retry later) or for good; or a stop came first (untried). */
export type HandOffResult =
  | { kind: 'delivered'; reply: string }
  | { kind: 'retry'; error: string }
  | { kind: 'failed'; error: string }
  | { kind: 'stopped' };

/** An open destination: hands messages on, one after the other, then is closed. */
export interface HandOffTarget {
  deliver(content: AsyncIterable<Buffer>, envelope: HandOffEnvelope, signal?: AbortSignal): Promise<HandOffResult>;
  /** `mailbox test`: whether it could take a message now, changing nothing; what it found, or why not. */
  check(): Promise<{ ok: boolean; detail: string }>;
  close(): Promise<void>;
}
