// The questions the wizard asks, behind a small interface: inquirer on a real terminal (loaded
// only when a prompt is shown), other prompt functions in tests.
import type { Io } from './io.js';

export interface Choice<T extends string> {
  value: T;
  name?: string;
  description?: string;
}

export type Validate = (value: string) => true | string | Promise<true | string>;

export interface Prompter {
  input(q: { message: string; default?: string; validate?: Validate }): Promise<string>;
  select<T extends string>(q: { message: string; choices: Choice<T>[]; default?: T }): Promise<T>;
  /** Masked input: the answer is never echoed. */
  password(q: { message: string; validate?: Validate }): Promise<string>;
  confirm(q: { message: string; default?: boolean }): Promise<boolean>;
}

/** The prompt functions of @inquirer/prompts (or test doubles with the same signatures). */
export interface PromptFunctions {
  input: typeof import('@inquirer/prompts').input;
  select: typeof import('@inquirer/prompts').select;
  password: typeof import('@inquirer/prompts').password;
  confirm: typeof import('@inquirer/prompts').confirm;
}

export function promptsPrompter(load: () => Promise<PromptFunctions>, context: { input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream }): Prompter {
  return {
    async input(q) {
      return (await load()).input({ message: q.message, default: q.default, validate: q.validate }, context);
    },
    async select(q) {
      return (await load()).select({ message: q.message, choices: q.choices, default: q.default }, context);
    },
    async password(q) {
      return (await load()).password({ message: q.message, mask: '*', validate: q.validate }, context);
    },
    async confirm(q) {
      return (await load()).confirm({ message: q.message, default: q.default }, context);
    },
  };
}

/** Inquirer on the process's terminal; prompts go to stderr so stdout carries only data. */
export function terminalPrompter(io: Io): Prompter {
  return promptsPrompter(() => import('@inquirer/prompts'), { input: io.stdin, output: io.stderr });
}

/** Ctrl-C inside a prompt: inquirer rejects with this error name. */
export function isPromptCancelled(err: unknown): boolean {
  return (err as Error)?.name === 'ExitPromptError' || (err as Error)?.name === 'AbortPromptError';
}
