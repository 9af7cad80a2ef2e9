// Password commands (`--password-command`): run through /bin/sh in their own process group and
// session, and killed as a group on every way out, so that nothing they start outlives or holds up
// the resolution. Their stdout is the secret; their stderr never goes into an error, a file or JSON.
import { MailboxError } from '../core/errors.js';
import { killGroup, runGroup, type GroupEnd, type GroupHost } from './process-group.js';

export interface CommandOptions {
  /** The time the whole run may take; past it, ETIMEDOUT (75). */
  limitMs: number;
  /** A stop (the runner's SIGINT): the command is killed at once. */
  signal?: AbortSignal;
}

export function stopped(account: string | undefined): MailboxError {
  return new MailboxError('ETEMPFAIL', `${account ? `account ${account}: ` : ''}stopped while its secret was being read`, { account });
}

export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/** What a password command may print: a secret, not a file (a runaway command is stopped). */
const MAX_OUTPUT = 64 * 1024;
/** How long the rest of a command's output may take once the command exited (it is in the pipe). */
const DRAIN_MS = 200;
/** The tail of a failed command's error output that is shown (on a terminal only). */
const STDERR_TAIL = 4096;

/** How password commands are run and stopped; process control stays at the CLI edge. */
export interface CommandHost extends GroupHost {
  /**
   * Receives a failed command's error output, the secret taken out: never put in an error message,
   * a file or JSON, only shown on a terminal (the CLI decides).
   */
  stderr?: (account: string, text: string) => void;
}

/** `text` with each line of what the command printed on stdout (the secret, in plain and base64) taken out. */
function withoutSecret(text: string, stdout: string): string {
  let out = text;
  for (const line of stdout.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length >= 3)) {
    for (const form of [line, Buffer.from(line).toString('base64')]) out = out.split(form).join('<redacted>');
  }
  return out;
}

/**
 * Runs a password command in its own process group (and session: it has no terminal to prompt on) and
 * resolves with its standard output. Every way out kills the group, so nothing it started (a
 * grandchild holding the pipe open, a pinentry waiting for input) outlives the resolution or holds it
 * up; `limitMs` bounds the whole of it. Its error output never goes into an error. `running` holds
 * the groups at work, for the edge to kill should this process end first.
 */
async function runPasswordCommand(command: string, env: NodeJS.ProcessEnv, account: string, options: CommandOptions, host: CommandHost, running: Set<number>): Promise<string> {
  const { limitMs } = options;
  if (options.signal?.aborted) throw stopped(account);
  const run = runGroup(command, { env, stdin: 'ignore', limitMs, signal: options.signal, drainMs: DRAIN_MS, running }, host);
  const out: Buffer[] = [];
  let outBytes = 0;
  let overflow = false;
  let errText = '';
  run.child.stdout.on('data', (chunk: Buffer) => {
    outBytes += chunk.length;
    if (outBytes > MAX_OUTPUT) {
      overflow = true;
      return run.end();
    }
    out.push(chunk);
  });
  run.child.stderr.on('data', (chunk: Buffer) => {
    errText = (errText + chunk.toString('utf8')).slice(-STDERR_TAIL);
  });
  const end = await run.done;
  const stdout = Buffer.concat(out).toString('utf8');
  const error = overflow
    ? new MailboxError('ESECRET', `account ${account}: the password command printed more than ${MAX_OUTPUT / 1024} KB: that is no password`, { account })
    : failureOf(end, stdout, account, limitMs);
  if (!error) return stdout.replace(/\r?\n$/, '');
  const shown = withoutSecret(errText, stdout).trim();
  if (shown) host.stderr?.(account, shown);
  throw error;
}

/** What went wrong with a password command, or nothing when it printed a secret. */
function failureOf(end: GroupEnd, stdout: string, account: string, limitMs: number): MailboxError | undefined {
  const hint = 'run it in a shell to see why (its error output is shown only on a terminal)';
  switch (end.kind) {
    case 'limit':
      return new MailboxError('ETIMEDOUT', `account ${account}: the password command did not finish within ${seconds(limitMs)}; it was stopped`, {
        hint: 'it must print the password without waiting for anyone (a prompt, an agent to unlock): run it in a shell to see what it waits for',
        account,
      });
    case 'stopped':
      return stopped(account);
    case 'error':
      return new MailboxError('ESECRET', `account ${account}: cannot run the password command: ${end.error.message}`, { account });
    case 'ended':
      return new MailboxError('ESECRET', `account ${account}: the password command did not finish`, { hint, account });
    case 'exit': {
      if (end.code === 0) {
        // Like `pass`, commands end their output with a newline that is not part of the secret.
        if (stdout.replace(/\r?\n$/, '')) return undefined;
        return new MailboxError('ESECRET', `account ${account}: the password command printed nothing`, { hint, account });
      }
      const why = end.signal ? `was stopped by ${end.signal}` : `failed (exit code ${end.code})`;
      return new MailboxError('ESECRET', `account ${account}: the password command ${why}`, { hint, account });
    }
  }
}

/** The password commands of one process: run one, or kill every group still at work (on exit). */
export class PasswordCommands {
  private readonly running = new Set<number>();

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly host: CommandHost,
  ) {}

  run(command: string, account: string, options: CommandOptions): Promise<string> {
    return runPasswordCommand(command, this.env, account, options, this.host, this.running);
  }

  stopAll(): void {
    for (const pgid of this.running) killGroup(this.host, pgid);
    this.running.clear();
  }
}
