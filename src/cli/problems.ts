// The configuration problems of the accounts (core/problems.ts) as list, status and test report them.
import { ExitCode, type MailboxError } from '../core/errors.js';
import type { Problems } from '../core/problems.js';
import type { ProbeResult } from '../protocols/probe/index.js';
import type { Printer } from './printer.js';

/** Each problem once as an error on stderr (text, or JSON with --json); 78 when there is one, else 0. */
export function reportProblems(out: Printer, problems: Problems): number {
  const messages = new Set<string>();
  for (const error of problems.values()) {
    if (messages.has(error.message)) continue;
    messages.add(error.message);
    out.error(error);
  }
  return problems.size ? ExitCode.config : 0;
}

/**
 * A connection test of an account whose configuration is wrong fails with that problem, after the
 * connection is shown (the problem's message among the warnings, where the text output shows it).
 */
export function withProblem(result: ProbeResult, problem: MailboxError | undefined): ProbeResult {
  if (!problem) return result;
  const warned = { ...result, warnings: [...result.warnings, problem.message] };
  if (!result.ok) return warned;
  const error = { code: problem.code, message: problem.message, hint: problem.hint ?? null, fixes: problem.fixes, account: problem.account ?? result.account };
  return { ...warned, ok: false, error, exitCode: problem.exitCode };
}
