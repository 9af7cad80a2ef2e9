// mailbox pause|resume reading|sending|all: the pause switches (settings `reading` and `sending`).
import type { Command } from 'commander';
import { oneOf } from '../../core/validate.js';
import { changeSetting } from '../../jobs/settings.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';
import { reportChange } from './settings.js';

const WHAT = ['reading', 'sending', 'all'] as const;

export async function pauseOrResume(ctx: Context, what: string, paused: boolean): Promise<void> {
  const which = oneOf(what, 'what', WHAT);
  const keys = which === 'all' ? (['reading', 'sending'] as const) : [which];
  // `on` is the default: resuming unsets the key rather than writing it.
  const changes = [];
  for (const key of keys) changes.push(reportChange(ctx, await changeSetting(ctx.accounts.config, key, paused ? 'off' : undefined)));
  ctx.out.data(changes, () => '');
  if (paused) ctx.out.info(`a running runner stops ${keys.join(' and ')} within one cycle${keys.includes('sending') ? '; queued mail stays send-ready' : ''} (mailbox resume ${which})`);
}

function registerSwitch(command: Command, penv: ProgramEnv, paused: boolean): void {
  command
    .argument('<what>', WHAT.join(', '))
    .addHelpText(
      'after',
      paused
        ? '\nNothing fails or expires while paused: queued mail stays send-ready, unread mail stays on the server.\n\nExamples:\n  $ mailbox pause sending\n  $ mailbox pause all'
        : '\nExamples:\n  $ mailbox resume sending\n  $ mailbox resume all',
    )
    .action(action(penv, (ctx, _o, [what]) => pauseOrResume(ctx, what!, paused)));
}

export const registerPause = (command: Command, penv: ProgramEnv) => registerSwitch(command, penv, true);
export const registerResume = (command: Command, penv: ProgramEnv) => registerSwitch(command, penv, false);
