// The command table: one entry per command, each module loaded only when its command is used.
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { ProgramEnv } from '../../src/cli/action.js';
import { buildProgram } from '../../src/cli/program.js';

const COMMANDS = ['add', 'list', 'show', 'edit', 'remove', 'activate', 'deactivate', 'export', 'apply', 'filter', 'oauth', 'authorize', 'discover', 'test', 'run', 'send', 'sendmail', 'emails', 'settings', 'pause', 'resume', 'status'];

// The database store's commands close the table.
COMMANDS.push('db', 'migrate-store');

function programEnv(): ProgramEnv & { out: () => string } {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (c: Buffer) => (text += c.toString()));
  return { io: { stdin: new PassThrough(), stdout, stderr: new PassThrough(), env: {} }, exitCode: 0, out: () => text };
}

// Every module adds its examples to the help: a command without them was not declared.
// Command extends EventEmitter at run time; its typings leave that out.
const declared = (program: Command) => program.commands.filter((c) => (c as unknown as NodeJS.EventEmitter).listenerCount('afterHelp') > 0).map((c) => c.name());

describe('the command table', () => {
  it('names every command, in the order of the overview', async () => {
    const program = await buildProgram(programEnv(), ['node', 'mailbox', 'list'], '1.2.3');
    expect(program.commands.map((c) => c.name())).toEqual(COMMANDS);
    expect(program.commands.every((c) => c.description().length > 0)).toBe(true);
  });

  it('declares only the command named on the command line; the rest load when dispatched to', async () => {
    const penv = programEnv();
    const program = await buildProgram(penv, ['node', 'mailbox', '--home', '/nonexistent', 'list', '--json'], '1.2.3');
    expect(declared(program)).toEqual(['list']);
    // A command found by commander rather than by the scan (here after an option value) is declared on dispatch.
    const late = await buildProgram(programEnv(), ['node', 'mailbox', 'show', 'x'], '1.2.3');
    await late.parseAsync(['node', 'mailbox', 'filter', '--help']).catch(() => undefined);
    expect(declared(late)).toEqual(['show', 'filter']);
  });

  it('without a command every module is declared, so the overview shows their arguments', async () => {
    const penv = programEnv();
    const program = await buildProgram(penv, ['node', 'mailbox', '--help'], '1.2.3');
    expect(declared(program)).toEqual(COMMANDS);
    await program.parseAsync(['node', 'mailbox', '--help']).catch(() => undefined);
    expect(penv.out()).toMatch(/edit \[options\] <name>\s+change an account/);
    expect(penv.out()).toMatch(/filter\s+address filters/);
  });

  it('the version is the one given (main reads it from package.json), and loads no command', async () => {
    const penv = programEnv();
    const program = await buildProgram(penv, ['node', 'mailbox', '--version'], '1.2.3');
    expect(declared(program)).toEqual([]);
    await program.parseAsync(['node', 'mailbox', '--version']).catch(() => undefined);
    expect(penv.out()).toBe('1.2.3\n');
  });
});
