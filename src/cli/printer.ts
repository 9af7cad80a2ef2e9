// Output: data to stdout (text or --json), messages and warnings to stderr, colour only where wanted.
import { Chalk, type ChalkInstance } from 'chalk';
import type { Writable } from 'node:stream';
import { MailboxError } from '../core/errors.js';
import { errorJson, hintText, type HintContext } from './hints.js';

export interface Printer {
  readonly json: boolean;
  readonly color: ChalkInstance;
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
  stdout: Writable;
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
  return {
    json,
    color,
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

/** Plain text table: columns padded to their widest cell; nothing at all without rows. */
export function table(headers: string[], rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [fmt(headers), ...rows.map(fmt)].join('\n');
}
