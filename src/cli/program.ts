// The command tree. Each command lives in its own file under commands/ and registers itself here.
// Command modules must stay light to load: heavy libraries are imported inside their actions.
import { Command } from 'commander';
import type { ProgramEnv } from './action.js';
import { registerAccountCommands } from './commands/accounts.js';
import { registerFilterCommands } from './commands/filters.js';
import { registerRunCommands } from './commands/run.js';
import { registerTestCommand } from './commands/test.js';
import { registerTransferCommands } from './commands/transfer.js';

export const VERSION = '0.1.0';

export function buildProgram(penv: ProgramEnv): Command {
  const program = new Command('mailbox')
    .description('Configure, test and run POP3, IMAP and SMTP email accounts.')
    .version(VERSION, '-V, --version')
    .option('--json', 'print data as JSON on stdout (messages stay on stderr)')
    .option('--home <dir>', 'keep all files under DIR (default: $MAILBOX_HOME, else XDG folders)')
    .showHelpAfterError('(run with --help for usage)')
    // Inherited by every subcommand added below: usage errors become exit 64 in main().
    .exitOverride()
    .configureOutput({ writeOut: (s) => penv.io.stdout.write(s), writeErr: (s) => penv.io.stderr.write(s) })
    .addHelpText(
      'after',
      `
Examples:
  $ mailbox add                         # interactive wizard on a terminal
  $ mailbox list --json                 # accounts as JSON for scripts
  $ mailbox test work-imap              # staged connection diagnostics
  $ mailbox run --once                  # one read and one send cycle

Exit codes: 0 ok, 64 usage, 65 invalid value, 66 not found, 69 unreachable, 70 internal,
74 local I/O, 75 temporary failure/timeout, 76 TLS/protocol, 77 auth/permission, 78 configuration.`,
    );
  registerAccountCommands(program, penv);
  registerTransferCommands(program, penv);
  registerFilterCommands(program, penv);
  registerTestCommand(program, penv);
  registerRunCommands(program, penv);
  return program;
}
