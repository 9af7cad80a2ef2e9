// mailbox deactivate NAME: provisioned accounts too (the choice is kept in the user's config).
import type { Command } from 'commander';
import { action, type ProgramEnv } from '../action.js';
import { switchAccount } from './activate.js';

export function register(command: Command, penv: ProgramEnv): void {
  command
    .argument('<name>', 'account name')
    .addHelpText('after', '\nExamples:\n  $ mailbox deactivate work-imap\n  $ mailbox deactivate corp-smtp --json')
    .action(action(penv, (ctx, _o, [name]) => switchAccount(ctx, name!, false)));
}
