// mailbox add: flags for scripts, a wizard on a terminal for whatever the flags did not give.
import type { Command } from 'commander';
import { ACCOUNT_TYPES, type AccountType } from '../../core/account.js';
import { MailboxError } from '../../core/errors.js';
import { oneOf } from '../../core/validate.js';
import { addAccount } from '../../jobs/accounts/save.js';
import { checkFlagValues, declareAccountFlags, missingFlags, parseAccountFlags, type AccountFlagValues } from '../account-flags.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';
import { applyCandidate, discoverForAdd, suggestedName } from '../discovery-view.js';
import { connectionCheck, printSaveOutcome, readStdinSecret } from '../save-account.js';
import { askOnTerminal } from '../wizard.js';

const EXAMPLES = `
Examples:
  $ mailbox add                                   # wizard on a terminal
  $ printf %s "$PW" | mailbox add --type imap --name work --host imap.example.com \\
      --user me@example.com --password-stdin
  $ mailbox add --type smtp --name out --host smtp.example.com --security starttls \\
      --user me@example.com --password-env SMTP_PASSWORD --no-test
  $ mailbox add --type pop3 --name archive --host pop.example.com --user me \\
      --password-command "pass show mail/archive" --delete-after-download --max-size 20MB
  $ mailbox add --discover me@example.com --type smtp --password-env SMTP_PASSWORD
      # the servers found and verified as by mailbox discover; flags given win`;

type AddFlags = AccountFlagValues & { yes?: boolean; test?: boolean };

export async function add(ctx: Context, flags: AddFlags): Promise<number> {
  checkFlagValues(flags);
  const parsed = parseAccountFlags(flags);
  let { input } = parsed;
  if (typeof flags.discover === 'string') {
    const type = input.type === undefined ? undefined : oneOf(input.type, 'type', ACCOUNT_TYPES);
    const found = await discoverForAdd(ctx, flags.discover, type);
    // A password given (a flag's secret) means a password login, whatever the server offers: its auth is not taken.
    const passwordGiven = parsed.secret !== undefined && !parsed.given.has('auth');
    applyCandidate(input, found, passwordGiven ? new Set([...parsed.given, 'auth']) : parsed.given);
    if (passwordGiven && found.auth === 'oauth2') {
      ctx.out.warn(`${found.host} wants OAuth 2.0${found.oauthProvider ? ` (${found.oauthProvider})` : ''}; the account logs in with the password given (an app password, where the provider allows one); for OAuth 2.0 add it with --auth oauth2 --oauth PROFILE instead`);
    }
    if (!parsed.given.has('name')) input.name = suggestedName(flags.discover, found.type as AccountType);
  }
  let secret = await readStdinSecret(ctx, parsed.secret, 'add');
  if (ctx.interactive) {
    ({ input, secret } = await askOnTerminal(ctx, { snapshot: await ctx.snapshot(), input, given: parsed.given, secret, acceptDefaults: Boolean(flags.yes) }));
  } else {
    const missing = missingFlags(input, secret);
    if (missing.length > 0) {
      const relay = !input.type && input.auth === undefined ? '; an smtp relay without login (--auth none) needs no --user and no secret' : '';
      throw new MailboxError('EUSAGE', `missing ${missing.join('; ')} (no terminal to ask: give them as flags)`, { hint: `mailbox add --help lists the flags${relay}` });
    }
  }
  const hints = { command: 'add' as const };
  const outcome = await addAccount(ctx.accounts, {
    input,
    secret: secret === 'stdin' ? undefined : secret,
    check: flags.test === false ? undefined : connectionCheck(ctx, { hints, askOnFailure: ctx.interactive && !flags.yes }),
    cwd: ctx.cwd,
  });
  const code = printSaveOutcome(ctx, outcome, 'add');
  if (code !== 0 || outcome.status !== 'saved' || !outcome.account.oauth) return code;
  const { offerAuthorization } = await import('./authorize.js');
  return offerAuthorization(ctx, outcome.account.name, !flags.yes);
}

export function register(command: Command, penv: ProgramEnv): void {
  declareAccountFlags(command, 'add')
    .addHelpText('after', EXAMPLES)
    .action(action<AddFlags>(penv, add, () => ({ command: 'add' })));
}
