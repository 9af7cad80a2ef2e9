// export and apply: registered by buildProgram.
import type { Command } from 'commander';
import type { ProgramEnv } from '../action.js';

export function registerTransferCommands(_program: Command, _penv: ProgramEnv): void {}
