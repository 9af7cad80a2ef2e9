// The real executable on a real pseudo-terminal (util-linux `script`), answered prompt by prompt as a
// person would: the wizard tests drive it through this.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { baseEnv, BIN } from './cli.js';

export const ENTER = '\r';
export const DOWN = '\u001b[B';

function quote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A `mailbox` process whose stdin, stdout and stderr are a terminal. */
export class Terminal {
  private child: ChildProcessWithoutNullStreams;
  private raw = '';
  private seen = 0;
  readonly exit: Promise<number | null>;

  /** `env`: added to the base environment (MAILBOX_HOME, the Secret Service, the DNS servers ...). */
  constructor(args: string[], env: NodeJS.ProcessEnv) {
    const command = `stty cols 200 rows 50; exec ${quote(process.execPath)} ${quote(BIN)} ${args.map(quote).join(' ')}`;
    this.child = spawn('script', ['-qfec', command, '/dev/null'], { env: baseEnv({ ...env, TERM: 'xterm' }) });
    this.child.stdout.setEncoding('utf8').on('data', (c: string) => (this.raw += c));
    this.exit = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** Everything the terminal showed, escape sequences removed. */
  get transcript(): string {
    return stripVTControlCharacters(this.raw);
  }

  /** Waits for `text` to appear after the last answer (up to `timeoutMs`), then types `keys`. */
  async answer(text: string | RegExp, keys: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.transcript.slice(this.seen);
      const match = typeof text === 'string' ? rest.indexOf(text) : rest.search(text);
      if (match >= 0) {
        this.seen += match + 1;
        break;
      }
      if (Date.now() > deadline) throw new Error(`no ${String(text)} on the terminal; it shows:\n${rest}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    this.child.stdin.write(keys);
  }

  async close(): Promise<number | null> {
    const code = await this.exit;
    this.child.stdin.end();
    return code;
  }
}
