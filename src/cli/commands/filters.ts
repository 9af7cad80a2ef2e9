// filter add|list|remove|test: registered by buildProgram.
import type { Command } from 'commander';
import type { ProgramEnv } from '../action.js';

export function registerFilterCommands(_program: Command, _penv: ProgramEnv): void {}
