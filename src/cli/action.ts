// Glue between commander and command handlers: builds the context, maps the result to an exit code.
import type { Command } from 'commander';
import { createContext, type Context, type GlobalOptions, type Io } from './context.js';
import { isPromptCancelled } from './prompter.js';

/** A handler returns an exit code (default 0) or throws a MailboxError. */
export type Handler<O> = (ctx: Context, options: O, args: string[]) => Promise<number | void>;

export interface ProgramEnv {
  io: Io;
  /** Set by the handler; read by main() once parsing is done. */
  exitCode: number;
}

/**
 * Wraps a handler as a commander action. `--json` and `--home` are program options that commander
 * accepts before or after the subcommand, so they are read with optsWithGlobals().
 */
export function action<O>(penv: ProgramEnv, handler: Handler<O>) {
  return async (...params: unknown[]): Promise<void> => {
    const command = params[params.length - 1] as Command;
    const options = command.optsWithGlobals() as O & GlobalOptions;
    const args = command.args;
    const ctx = createContext(penv.io, options);
    try {
      const code = await handler(ctx, options, args);
      penv.exitCode = typeof code === 'number' ? code : 0;
    } catch (err) {
      if (!isPromptCancelled(err)) throw err;
      // Ctrl-C at a prompt: nothing was written; 130 as a shell reports an interrupted command.
      ctx.out.info('cancelled; nothing was saved');
      penv.exitCode = 130;
    }
  };
}

/** Collects a repeatable option (--to a --to b) into a list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
