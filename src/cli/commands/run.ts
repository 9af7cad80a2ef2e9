// mailbox run, send, emails, status: registered by buildProgram.
import type { Command } from 'commander';
import type { ProgramEnv } from '../action.js';

export function registerRunCommands(_program: Command, _penv: ProgramEnv): void {}
