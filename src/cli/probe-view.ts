// Running the staged probe for one account from the CLI (secret, debug log) and showing its result.
// Shared by `mailbox test` and the test that `add`/`edit` run before saving.
import type { ChalkInstance } from 'chalk';
import type { Account } from '../core/account.js';
import { MailboxError } from '../core/errors.js';
import type { ProbeResult, StageName } from '../protocols/probe/index.js';
import type { Context } from './context.js';
import { hintText, type HintContext } from './hints.js';
import { dnsOf } from './network.js';
import { tokenRefusalHint, type Credential } from '../jobs/credentials.js';
import { tokenStage } from '../jobs/oauth/token-stage.js';
import { credentialsOf } from './oauth-wiring.js';
import { fitBlock } from './wrap.js';

export interface ProbeRunOptions {
  timeoutMs?: number;
  sendTo?: string;
  /** The secret to use instead of the account's stored source (add/edit test a secret not yet saved). */
  secret?: string;
  /** Stop (successfully) before this stage: authorize logs in once and stops there. */
  stopBefore?: StageName;
}

/** Probes `account`, writing its debug log when the account's debug flag is on. */
export async function runProbe(ctx: Context, account: Account, options: ProbeRunOptions = {}): Promise<ProbeResult> {
  const credentials = credentialsOf(ctx);
  let used: Credential | undefined;
  // A password command is bounded by the test's --timeout, as the servers are.
  const first = await probeOnce(ctx, account, options, (signal) => credentials.get(account, signal, options.timeoutMs), (c) => (used = c));
  // A cached access token the server refused: refreshed once and tested again, as run would.
  if (first.ok || first.stages.at(-1)?.name !== 'login' || options.secret !== undefined) return first;
  const again = await credentials.retry(account, used, new MailboxError(first.error!.code, first.error!.message)).catch(() => undefined);
  if (!again) return tokenWords(first, account, used);
  const second = await probeOnce(ctx, account, options, async () => again, () => undefined);
  second.warnings.unshift('the server refused the cached access token; it was refreshed and the account tested again');
  return tokenWords(second, account, again);
}

/** A login refused with a token from the token manager: the hint is about tokens, not a password. */
function tokenWords(result: ProbeResult, account: Account, used: Credential | undefined): ProbeResult {
  if (!used?.token || result.error?.code !== 'EAUTH' || result.stages.at(-1)?.name !== 'login') return result;
  return { ...result, error: { ...result.error, hint: tokenRefusalHint(account), fixes: undefined } };
}

async function probeOnce(ctx: Context, account: Account, options: ProbeRunOptions, credential: (signal?: AbortSignal) => Promise<Credential | undefined>, onCredential: (c: Credential | undefined) => void): Promise<ProbeResult> {
  const [{ probeAccount }, { openDebugLog, debugLogPath }] = await Promise.all([import('../protocols/probe/index.js'), import('../protocols/debug-log.js')]);
  const debugLog = account.debug
    ? openDebugLog(debugLogPath(ctx.paths.logDir, account.name), { protocol: account.type, secrets: options.secret ? [options.secret] : [], user: account.user, account: account.name })
    : undefined;
  const resolve = async (signal?: AbortSignal): Promise<Credential> => {
    if (options.secret !== undefined) return { secret: options.secret };
    const found = await credential(signal);
    onCredential(found);
    if (!found) throw new MailboxError('ESECRET', `account ${account.name} has no secret source`, { hint: 'set one', fixes: [{ field: 'password' }], account: account.name });
    return found;
  };
  try {
    return await probeAccount(account, {
      timeoutMs: options.timeoutMs,
      sendTo: options.sendTo,
      stopBefore: options.stopBefore,
      debugLog,
      now: ctx.now,
      lookup: dnsOf(ctx.env).lookup,
      secret: async () => (await resolve()).secret,
      ...(account.auth === 'oauth2'
        ? {
            token: async (signal: AbortSignal) => {
              const found = await resolve(signal);
              return { value: found.secret, ...tokenStage(account, found, ctx.now()) };
            },
          }
        : {}),
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

/** How the text is fitted: `width` a terminal's (undefined: every line whole, as for a pipe). */
export interface ProbeLayout {
  width?: number;
  /** Every value whole (--full): the fingerprints too, broken over lines rather than shortened. */
  full?: boolean;
}

/** A SHA-256 fingerprint as node writes it ("AB:CD:..", 32 byte pairs). */
const FINGERPRINT = /\b[0-9A-F]{2}(?::[0-9A-F]{2}){31}\b/gi;
const SHORT_PAIRS = 8;

/** Fingerprints cut to their first byte pairs, enough to tell certificates apart at a glance. */
export function shortenFingerprints(text: string): string {
  return text.replace(FINGERPRINT, (fp) => `${fp.slice(0, SHORT_PAIRS * 3 - 1)}…`);
}

/**
 * One line per stage (mark, name, time, detail), warnings, and a summary line. On a terminal
 * (`layout.width`) long lines continue indented under their text and fingerprints in the stage
 * details are shortened unless `layout.full`. A hint's values are never shortened nor broken: they
 * are there to be copied (a fingerprint to pin stays whole on a line of its own).
 */
export function renderProbe(r: ProbeResult, color: ChalkInstance, context: HintContext = {}, layout: ProbeLayout = {}): string {
  const { width } = layout;
  const shorten = width !== undefined && !layout.full;
  const lines = fitBlock('', 0, `${r.account}  ${r.type} ${r.server} ${r.security}`, width).map((l) => color.bold(l));
  for (const s of r.stages) {
    const mark = s.ok ? color.green('✓') : color.red('✗');
    const head = ` ${s.name.padEnd(NAME_WIDTH)} ${`${s.ms} ms`.padStart(7)}  `;
    lines.push(...fitBlock(`  ${mark}${head}`, 3 + head.length, shorten ? shortenFingerprints(s.detail) : s.detail, width));
  }
  const WARNING = '  ! warning: ';
  for (const w of r.warnings) lines.push(...fitBlock(WARNING, WARNING.length, w, width).map((l) => color.yellow(l)));
  if (r.ok) {
    lines.push(`${r.account}: ${color.green('ok')} (${r.ms} ms)`);
  } else {
    const failed = r.stages.find((s) => !s.ok)?.name ?? 'setup';
    const lead = `${r.account}: FAILED `;
    lines.push(...fitBlock(`${r.account}: ${color.red('FAILED')} `, lead.length, `at ${failed}: ${r.error!.code} (exit ${r.exitCode}) after ${r.ms} ms`, width));
    const hint = hintText(r.error!, context);
    if (hint) lines.push(...fitBlock('  hint: ', 8, hint, width, { breakValues: false }));
  }
  return lines.join('\n');
}
