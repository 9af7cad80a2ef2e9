// mailbox run, send, emails, status: registered by buildProgram.
import type { Command } from 'commander';
import type { ProgramEnv } from '../action.js';
import { registerEmailsCommand } from './emails.js';
import { registerSendCommand } from './send.js';
import { registerStatusCommand } from './status.js';

export function registerRunCommands(program: Command, penv: ProgramEnv): void {
  registerSendCommand(program, penv);
  registerEmailsCommand(program, penv);
  registerStatusCommand(program, penv);
}
