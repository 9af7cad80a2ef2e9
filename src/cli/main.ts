// Entry point: the only place that reads argv and sets the exit code.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { CommanderError } from 'commander';
import { ExitCode, MailboxError } from '../core/errors.js';
import type { ProgramEnv } from './action.js';
import { createPrinter } from './printer.js';
import { buildProgram, wantsJson } from './program.js';

/** The version in package.json, two folders up from this file in src/cli and in the bundle's dist/cli. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function main(proc: NodeJS.Process): Promise<void> {
  const penv: ProgramEnv = {
    io: { stdin: proc.stdin, stdout: proc.stdout, stderr: proc.stderr, env: proc.env },
    exitCode: 0,
  };
  guardOutput(proc);
  const argv = asSendmail(proc.argv);
  const json = wantsJson(argv);
  try {
    const program = await buildProgram(penv, argv, packageVersion());
    await program.parseAsync(argv);
    proc.exitCode = penv.exitCode;
  } catch (err) {
    proc.exitCode = reportFailure(err, json, proc);
  }
}

/** Called through a link named sendmail (issue 13): `mailbox sendmail ARGS`. Options before "--" only, as sendmail reads them. */
function asSendmail(argv: string[]): string[] {
  const [node = 'node', script = ''] = argv;
  return basename(script) === 'sendmail' ? [node, script, 'sendmail', ...argv.slice(2)] : argv;
}

/**
 * A reader that goes away (`mailbox list | head -1`) must not crash the command with a stack trace.
 * EPIPE on stdout is ignored, as a shell ignores SIGPIPE for builtins: the command still finishes
 * its work (a runner keeps its state safe). Other output errors end with exit 74.
 */
function guardOutput(proc: NodeJS.Process): void {
  proc.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') proc.exitCode = ExitCode.ioErr;
  });
  proc.stderr.on('error', () => undefined);
}

/** Commander's "error: unknown command 'lst'\n(Did you mean list?)" as the message and a hint. */
function usageErrorJson(text: string) {
  const [first = '', ...rest] = text.replace(/^error: /, '').split('\n');
  const suggestion = rest.join(' ').replace(/^\((.*)\)$/, '$1').trim();
  const help = 'mailbox --help lists the commands, mailbox COMMAND --help its options';
  return { code: 'EUSAGE', exit: ExitCode.usage, message: first, hint: suggestion ? `${suggestion}; ${help}` : help, field: null };
}

function reportFailure(err: unknown, json: boolean, proc: NodeJS.Process): number {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) return 0; // --help, --version
    // Commander printed its text already, except with --json (program.ts): then this is the one report.
    if (json) proc.stderr.write(`${JSON.stringify({ error: usageErrorJson(err.message) })}\n`);
    return ExitCode.usage;
  }
  const printer = createPrinter({ json, stdout: proc.stdout, stderr: proc.stderr, env: proc.env });
  if (err instanceof MailboxError) {
    printer.error(err);
    return err.exitCode;
  }
  const internal = new MailboxError('EINTERNAL', `internal error: ${(err as Error)?.message ?? String(err)}`, {
    hint: 'this is a bug in mailbox; run with MAILBOX_DEBUG=1 for the stack trace',
  });
  printer.error(internal);
  if (proc.env.MAILBOX_DEBUG) proc.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  return ExitCode.software;
}
