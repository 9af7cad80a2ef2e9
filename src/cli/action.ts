// Glue between commander and command handlers: builds the context, prints a failure with its hint
// worded for the command, maps the result to an exit code. Also the one shape of a command module.
import type { Command } from 'commander';
import { MailboxError } from '../core/errors.js';
import { createContext, type Context, type GlobalOptions } from './context.js';
import type { HintContext } from './hints.js';
import type { Io } from './io.js';
import { isPromptCancelled } from './prompter.js';

/** A handler returns an exit code (default 0) or throws a MailboxError. */
export type Handler<O> = (ctx: Context, options: O, args: string[]) => Promise<number | void>;

export interface ProgramEnv {
  io: Io;
  /** Set by the handler; read by main() once parsing is done. */
  exitCode: number;
}

/**
 * What every module under commands/ exports. The table in program.ts creates the command (its name
 * and summary) and loads the module only when the command is used; `register` declares the rest:
 * arguments, options, help, the action, and subcommands for a command group.
 */
export type RegisterCommand = (command: Command, penv: ProgramEnv) => void;

/**
 * Wraps a handler as a commander action. `--json` and `--home` are program options that commander
 * accepts before or after the subcommand, so they are read with optsWithGlobals(). `hints` says how
 * the fixes of this command's errors are worded (by default as `mailbox edit NAME --flag`).
 */
export function action<O>(penv: ProgramEnv, handler: Handler<O>, hints?: (args: string[]) => HintContext) {
  return async (...params: unknown[]): Promise<void> => {
    const command = params[params.length - 1] as Command;
    const options = command.optsWithGlobals() as O & GlobalOptions;
    const args = command.args;
    const ctx = createContext(penv.io, options);
    try {
      const code = await handler(ctx, options, args);
      penv.exitCode = typeof code === 'number' ? code : 0;
    } catch (err) {
      if (err instanceof MailboxError) {
        ctx.out.error(err, hints?.(args));
        penv.exitCode = err.exitCode;
        return;
      }
      if (!isPromptCancelled(err)) throw err;
      // Ctrl-C at a prompt: nothing was written; 130 as a shell reports an interrupted command.
      ctx.out.info('cancelled; nothing was saved');
      penv.exitCode = 130;
    } finally {
      // A database's connections would keep the process waiting.
      await ctx.store.close();
    }
  };
}

/** Collects a repeatable option (--to a --to b) into a list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
