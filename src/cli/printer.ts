// Output: data to stdout (text or --json), messages and warnings to stderr, colour only where wanted.
import { Chalk, type ChalkInstance } from 'chalk';
import type { Writable } from 'node:stream';
import { MailboxError } from '../core/errors.js';
import { errorJson, hintText, type HintContext } from './hints.js';
import { renderTable, type Column } from './table.js';

export interface Printer {
  readonly json: boolean;
  readonly color: ChalkInstance;
  /** The terminal's width when stdout is one (and not --json): text is fitted to it, and only then shortened. */
  readonly width: number | undefined;
  /** A table fitted to `width`; columns left out to fit are named on stderr. */
  table(columns: readonly Column[], rows: readonly string[][]): string;
  /** Prints data: JSON when --json, else the text the renderer returns. */
  data(value: unknown, renderText: () => string): void;
  /** A line of text data on stdout (ignored under --json: use data()). */
  line(text: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(err: MailboxError, context?: HintContext): void;
}

export interface PrinterOptions {
  json: boolean;
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** NO_COLOR (any non-empty value) wins; otherwise colour only when stderr is a terminal, or FORCE_COLOR. */
function colorLevel(env: NodeJS.ProcessEnv, isTTY: boolean | undefined): 0 | 1 {
  if (env.NO_COLOR) return 0;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return 1;
  return isTTY && env.TERM !== 'dumb' ? 1 : 0;
}

export function createPrinter({ json, stdout, stderr, env }: PrinterOptions): Printer {
  const color = new Chalk({ level: colorLevel(env, stderr.isTTY) });
  const err = (text: string) => stderr.write(`${text}\n`);
  const width = !json && stdout.isTTY ? stdout.columns || 80 : undefined;
  return {
    json,
    color,
    width,
    table(columns, rows) {
      const { text, dropped } = renderTable(columns, rows, width);
      if (dropped.length) err(`(left out to fit: ${dropped.join(', ')}; --json has every field)`);
      return text;
    },
    data(value, renderText) {
      if (json) stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      else {
        const text = renderText();
        if (text) stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      }
    },
    line(text) {
      if (!json) stdout.write(`${text}\n`);
    },
    info(message) {
      err(message);
    },
    warn(message) {
      err(color.yellow(`warning: ${message}`));
    },
    error(e, context) {
      if (json) {
        err(JSON.stringify({ error: errorJson(e, context) }));
        return;
      }
      err(color.red(`mailbox: ${e.message}`));
      const hint = hintText(e, context);
      if (hint) err(`hint: ${hint}`);
    },
  };
}
