// The command table: every command's name, its one-line summary, and the module that declares and
// runs it (commands/NAME.ts, a RegisterCommand). A module is imported only when its command runs, so
// start-up pays for one command, not for all of them; heavy libraries load inside the actions.
import { Command, type Option } from 'commander';
import type { ProgramEnv, RegisterCommand } from './action.js';

interface CommandEntry {
  summary: string;
  load: () => Promise<{ register: RegisterCommand }>;
}

const COMMANDS: Record<string, CommandEntry> = {
  add: { summary: 'add an account (a wizard asks for what the flags do not give)', load: () => import('./commands/add.js') },
  list: { summary: 'list accounts', load: () => import('./commands/list.js') },
  show: { summary: 'show one account', load: () => import('./commands/show.js') },
  edit: { summary: 'change an account', load: () => import('./commands/edit.js') },
  remove: { summary: 'remove an account and its keychain entry', load: () => import('./commands/remove.js') },
  activate: { summary: 'switch an account on (an SMTP account switches the other SMTP accounts off)', load: () => import('./commands/activate.js') },
  deactivate: { summary: 'switch an account off (provisioned accounts too: the choice is kept in your config)', load: () => import('./commands/deactivate.js') },
  export: { summary: 'print your accounts and filters as JSON (secret references only), for apply or provisioned.json', load: () => import('./commands/export.js') },
  apply: { summary: 'make your accounts and filters match a document (as printed by export)', load: () => import('./commands/apply.js') },
  filter: { summary: 'address filters: who may send to us (inbound), who may receive from us (outbound)', load: () => import('./commands/filter.js') },
  oauth: { summary: 'OAuth 2.0 profiles: a provider and an app registration that accounts authorize with', load: () => import('./commands/oauth.js') },
  authorize: { summary: 'get the OAuth 2.0 tokens of an account (device, browser or client credentials flow)', load: () => import('./commands/authorize.js') },
  discover: { summary: 'find the servers of an email address (presets, autoconfig, ISPDB, MX, SRV), each verified', load: () => import('./commands/discover.js') },
  test: { summary: 'test accounts against their servers, stage by stage', load: () => import('./commands/test.js') },
  run: { summary: 'run the reader and sender in the foreground: new mail into the local store, the queue out', load: () => import('./commands/run.js') },
  send: { summary: 'queue a message in the outbox (send-ready); `mailbox run` sends it', load: () => import('./commands/send.js') },
  sendmail: { summary: 'sendmail-compatible entry point: queue (or --now send) the message on standard input', load: () => import('./commands/sendmail.js') },
  emails: { summary: 'list the email log: received, queued, sent, failed and skipped messages', load: () => import('./commands/emails.js') },
  settings: { summary: 'operating settings: pause switches, test redirect, inbound guards, retention', load: () => import('./commands/settings.js') },
  pause: { summary: 'pause reading, sending or all (a running runner notices within one cycle)', load: () => import('./commands/pause.js').then((m) => ({ register: m.registerPause })) },
  resume: { summary: 'resume reading, sending or all', load: () => import('./commands/pause.js').then((m) => ({ register: m.registerResume })) },
  status: { summary: 'show the last read or send of each account, the queue, and whether a runner holds the store', load: () => import('./commands/status.js') },
  db: { summary: 'the PostgreSQL store: db migrate creates or upgrades its schema, db status shows it, db set changes a setting', load: () => import('./commands/db.js') },
  'migrate-store': { summary: 'copy the local store (accounts, filters, mail, queue, seen state) into a database', load: () => import('./commands/migrate-store.js') },
};

/** The program's options a command's help lists: --json and --home (--version is the program's alone). */
function globalOptions(command: Command): Option[] {
  return command.parent ? [...globalOptions(command.parent), ...command.parent.options.filter((o) => !o.hidden && o.long !== '--version')] : [];
}

/** --json anywhere on the command line (commander takes it before or after the command). */
export function wantsJson(argv: readonly string[]): boolean {
  return argv.includes('--json');
}

function isCommand(name: string): boolean {
  return Object.hasOwn(COMMANDS, name);
}

/**
 * The program with every command of the table. The command named on the command line is declared
 * before parsing (so `mailbox help add` shows its options), every command when none is named (the
 * overview shows their arguments; not for --version), and whichever command commander dispatches
 * to, at that moment.
 */
export async function buildProgram(penv: ProgramEnv, argv: readonly string[], version: string): Promise<Command> {
  // With --json, main() prints a usage error once, as JSON: commander's own text stays silent.
  const json = wantsJson(argv);
  const program = new Command('mailbox')
    .description('Configure, test and run POP3, IMAP and SMTP email accounts.')
    .version(version, '-V, --version')
    .option('--json', 'print data as JSON on stdout (messages stay on stderr)')
    .option('--database <url>', 'keep everything in this PostgreSQL database (default: $MAILBOX_DATABASE_URL, else local files)')
    .option('--home <dir>', 'keep all files under DIR (default: $MAILBOX_HOME, else XDG folders)')
    .showHelpAfterError(json ? false : '(run with --help for usage)')
    // Inherited by every subcommand added below: usage errors become exit 64 in main(), and each
    // command's help lists --json and --home too.
    .exitOverride()
    .configureHelp({ showGlobalOptions: true, visibleGlobalOptions: globalOptions })
    .configureOutput({
      writeOut: (s) => penv.io.stdout.write(s),
      writeErr: (s) => penv.io.stderr.write(s),
      outputError: (s, write) => (json ? undefined : write(s)),
    })
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
  const declared = new Map<string, Promise<void>>();
  const declare = (command: Command): Promise<void> => {
    const name = command.name();
    if (!declared.has(name)) declared.set(name, COMMANDS[name]!.load().then((module) => module.register(command, penv)));
    return declared.get(name)!;
  };
  for (const [name, entry] of Object.entries(COMMANDS)) program.command(name).description(entry.summary);
  program.hook('preSubcommand', (_program, command) => declare(command));
  const args = argv.slice(2);
  const named = args.find(isCommand);
  // --version needs no command at all; anything else without one ends in the overview.
  const wanted = named ? [named] : args.some((a) => a === '-V' || a === '--version') ? [] : Object.keys(COMMANDS);
  await Promise.all(program.commands.filter((c) => wanted.includes(c.name())).map(declare));
  return program;
}
