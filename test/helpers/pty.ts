// Runs the built executable on a pseudo-terminal (util-linux `script`), as a person at a terminal of
// a given width would: stdin, stdout and stderr are the terminal.
import { spawn } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { baseEnv, BIN } from './cli.js';

export interface TerminalRun {
  code: number | null;
  /** What the terminal showed, escape sequences removed (stdout and stderr together). */
  screen: string;
}

export interface TerminalOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
  /** The terminal's width (default 200). */
  cols?: number;
  /** Each prompt answered in turn when it shows. */
  answers?: Array<[prompt: string, reply: string]>;
  timeoutMs?: number;
}

const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

export function onTerminal(args: string[], opts: TerminalOptions): Promise<TerminalRun> {
  const command = `stty cols ${opts.cols ?? 200} rows 50; exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: baseEnv({ ...opts.env, MAILBOX_HOME: opts.home, TERM: 'xterm' }) });
  let raw = '';
  let seen = 0;
  const pending = [...(opts.answers ?? [])];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    raw += chunk;
    const next = pending[0];
    const at = next ? stripVTControlCharacters(raw).indexOf(next[0], seen) : -1;
    if (next && at >= 0) {
      seen = at + next[0].length;
      pending.shift();
      child.stdin.write(next[1]);
    }
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(killer);
      child.stdin.end();
      resolve({ code, screen: stripVTControlCharacters(raw).replace(/\r\n/g, '\n') });
    }),
  );
}

/**
 * The wizard's answers from "Change advanced settings" on, for an IMAP account: every advanced
 * setting left as it is, the certificate pinned, the fingerprint the server presents (its default) taken.
 */
export function pinTheCertificate(fingerprint: string): Array<[prompt: string, reply: string]> {
  return [
    ['Change advanced settings', 'y\r'],
    ['Active', '\r'],
    ['Delete messages', '\r'],
    ['Largest message', '\r'],
    ['Folders to read', '\r'],
    ['Where received mail goes', '\r'],
    ['Log the raw protocol exchange', '\r'],
    ['Certificate trust', '\u001b[B\u001b[B\r'],
    // The prompt with the fetched fingerprint as its default (the trust menu names "SHA-256 fingerprint" too).
    [`SHA-256 fingerprint (${fingerprint})`, '\r'],
  ];
}
