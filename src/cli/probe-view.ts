// Running the staged probe for one account from the CLI (secret, debug log) and showing its result.
// Shared by `mailbox test` and the test that `add`/`edit` run before saving.
import type { ChalkInstance } from 'chalk';
import type { Account } from '../core/account.js';
import { MailboxError } from '../core/errors.js';
import type { ProbeResult } from '../protocols/probe/index.js';
import type { Context } from './context.js';
import { hintText, type HintContext } from './hints.js';

export interface ProbeRunOptions {
  timeoutMs?: number;
  sendTo?: string;
  /** The secret to use instead of the account's stored source (add/edit test a secret not yet saved). */
  secret?: string;
}

/** Probes `account`, writing its debug log when the account's debug flag is on. */
export async function runProbe(ctx: Context, account: Account, options: ProbeRunOptions = {}): Promise<ProbeResult> {
  const [{ probeAccount }, { openDebugLog, debugLogPath }] = await Promise.all([import('../protocols/probe/index.js'), import('../protocols/debug-log.js')]);
  const debugLog = account.debug
    ? openDebugLog(debugLogPath(ctx.paths.logDir, account.name), { protocol: account.type, secrets: options.secret ? [options.secret] : [], user: account.user, account: account.name })
    : undefined;
  try {
    return await probeAccount(account, {
      timeoutMs: options.timeoutMs,
      sendTo: options.sendTo,
      debugLog,
      now: ctx.now,
      secret: async () => {
        if (options.secret !== undefined) return options.secret;
        if (!account.secret) throw new MailboxError('ESECRET', `account ${account.name} has no secret source`, { hint: 'set one', fixes: [{ field: 'password' }], account: account.name });
        return ctx.secrets.resolve(account.secret, account.name, { timeoutMs: options.timeoutMs });
      },
    });
  } finally {
    debugLog?.close();
    if (debugLog) ctx.out.info(`debug log of ${account.name}: ${debugLog.path}`);
  }
}

/** The JSON shape of one result (`mailbox test --json`). */
export function probeJson(r: ProbeResult, context: HintContext = {}) {
  return {
    account: r.account,
    type: r.type,
    server: r.server,
    security: r.security,
    ok: r.ok,
    ms: r.ms,
    stages: r.stages.map((s) => ({ name: s.name, ok: s.ok, ms: s.ms, detail: s.detail, ...(s.data ? { data: s.data } : {}) })),
    warnings: r.warnings,
    error: r.error ? { code: r.error.code, message: r.error.message, hint: hintText(r.error, context) } : null,
  };
}

const NAME_WIDTH = 12;

/** One line per stage (mark, name, time, detail), warnings, and a summary line. */
export function renderProbe(r: ProbeResult, color: ChalkInstance, context: HintContext = {}): string {
  const lines = [color.bold(`${r.account}  ${r.type} ${r.server} ${r.security}`)];
  for (const s of r.stages) {
    const mark = s.ok ? color.green('✓') : color.red('✗');
    lines.push(`  ${mark} ${s.name.padEnd(NAME_WIDTH)} ${`${s.ms} ms`.padStart(7)}  ${s.detail}`);
  }
  for (const w of r.warnings) lines.push(color.yellow(`  ! warning: ${w}`));
  if (r.ok) {
    lines.push(`${r.account}: ${color.green('ok')} (${r.ms} ms)`);
  } else {
    const failed = r.stages.find((s) => !s.ok)?.name ?? 'setup';
    lines.push(`${r.account}: ${color.red('FAILED')} at ${failed}: ${r.error!.code} (exit ${r.exitCode}) after ${r.ms} ms`);
    const hint = hintText(r.error!, context);
    if (hint) lines.push(`  hint: ${hint}`);
  }
  return lines.join('\n');
}
