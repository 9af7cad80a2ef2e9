// The mda: destination (issue 13): the message on a command's standard input (procmail, maildrop,
// dovecot-lda), as fetchmail and getmail hand it on. The command runs in its own process group with a
// time limit that kills the whole group (process-group.ts, shared with password commands). Exit 0:
// delivered; 75 (EX_TEMPFAIL): retry later; any other code: refused for good. Killed by a signal, or
// past the limit: retried (the command did not say no).
import fs from 'node:fs/promises';
import path from 'node:path';
import type { HandOffEnvelope, HandOffResult, HandOffTarget } from '../../core/destination.js';
import { runGroup, type GroupHost } from '../process-group.js';

export interface MdaOptions {
  /** The environment the command starts from (the runner's); MAILBOX_* are added. */
  env: NodeJS.ProcessEnv;
  limitMs: number;
  host: GroupHost;
  /** The groups at work, for the edge to kill should this process end first. */
  running: Set<number>;
}

const EX_TEMPFAIL = 75;
/** The tail of the command's error output kept as the reply (what procmail or dovecot-lda say). */
const STDERR_TAIL = 1000;

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/** The hand-off's facts, as the command sees them. */
function mdaEnv(base: NodeJS.ProcessEnv, e: HandOffEnvelope): NodeJS.ProcessEnv {
  return {
    ...base,
    MAILBOX_ACCOUNT: e.account,
    MAILBOX_EMAIL_ID: e.emailId,
    MAILBOX_SOURCE_ID: e.sourceId,
    MAILBOX_FOLDER: e.folder ?? '',
    MAILBOX_FROM: e.from ?? '',
    MAILBOX_RECIPIENT: e.recipient,
  };
}

/** Writes the message to the command's stdin; a command that stops reading early (EPIPE) decides by its exit code. */
async function feed(stdin: NodeJS.WritableStream, content: AsyncIterable<Buffer>): Promise<void> {
  let broken = false;
  stdin.on('error', () => (broken = true));
  for await (const chunk of content) {
    if (broken) return;
    if (!stdin.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          stdin.off('drain', done);
          stdin.off('close', done);
          resolve();
        };
        stdin.on('drain', done);
        stdin.on('close', done);
      });
    }
  }
  if (!broken) stdin.end();
}

export function mdaTarget(command: string, options: MdaOptions): HandOffTarget {
  return {
    async deliver(content, envelope, signal): Promise<HandOffResult> {
      if (signal?.aborted) return { kind: 'stopped' };
      const run = runGroup(command, { env: mdaEnv(options.env, envelope), stdin: 'pipe', limitMs: options.limitMs, signal, drainMs: 200, running: options.running }, options.host);
      let errText = '';
      run.child.stdout.resume(); // what it prints on stdout is of no interest
      run.child.stderr.on('data', (chunk: Buffer) => (errText = (errText + chunk.toString('utf8')).slice(-STDERR_TAIL)));
      const fed = feed(run.child.stdin!, content).catch(() => undefined);
      const end = await run.done;
      await fed;
      const said = errText.trim().replace(/\s+/g, ' ');
      const tail = said ? `: ${said}` : '';
      switch (end.kind) {
        case 'exit':
          if (end.code === 0) return { kind: 'delivered', reply: `the command exited 0${tail}` };
          if (end.code === EX_TEMPFAIL) return { kind: 'retry', error: `the command exited 75 (temporary failure)${tail}` };
          if (end.code === null) return { kind: 'retry', error: `the command was killed by ${end.signal}${tail}` };
          return { kind: 'failed', error: `the command exited ${end.code}${tail}` };
        case 'limit':
          return { kind: 'retry', error: `the command did not finish within ${seconds(options.limitMs)}; its process group was killed${tail}` };
        case 'stopped':
          return { kind: 'stopped' };
        case 'error':
          return { kind: 'retry', error: `cannot run the command: ${end.error.message}` };
        case 'ended':
          return { kind: 'retry', error: `the command did not finish${tail}` };
      }
    },
    async check() {
      // The program the command starts with, found as the shell would (a path, else on PATH); nothing is run.
      const program = /^\s*(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*([^\s;&|<>()]+)/.exec(command)?.[1];
      if (!program) return { ok: true, detail: `command ${command} (run by /bin/sh)` };
      const candidates = program.includes('/') ? [program] : (options.env.PATH ?? '/usr/bin:/bin').split(':').filter(Boolean).map((dir) => path.join(dir, program));
      for (const file of candidates) {
        if (await fs.access(file, fs.constants.X_OK).then(() => true, () => false)) return { ok: true, detail: `${file} is executable (given the message on its standard input, limit ${seconds(options.limitMs)})` };
      }
      const builtin = ['cat', 'exec', 'true', ':', 'test', '['].includes(program);
      return builtin ? { ok: true, detail: `command ${command} (run by /bin/sh)` } : { ok: false, detail: `${program} is not an executable file${program.includes('/') ? '' : ' on PATH'}` };
    },
    close: async () => undefined,
  };
}
