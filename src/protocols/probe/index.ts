// `mailbox test` for one account: the staged probe (resolve, connect, tls, greeting, capabilities,
// login, probe, and for --send-to a real message), each stage timed, stopping at the first failure.
// Its result is an adapter boundary like open.ts: every form of the secret is redacted from it.
import { performance } from 'node:perf_hooks';
import type { Account } from '../../core/account.js';
import { ErrorCodes, MailboxError } from '../../core/errors.js';
import type { DebugLog } from '../debug-log.js';
import { scrubDeep, secretScrubber } from '../redaction.js';
import { Peer } from '../net/peer.js';
import type { LookupFn } from '../net/socket.js';
import { handshakePlan, type TlsDeps } from '../net/trust.js';
import { probeImap } from '../imap/probe.js';
import { probePop3 } from '../pop3/probe.js';
import { probeSmtp } from '../smtp/probe.js';
import { StageFailed, StageRecorder, type ProbeResult } from './stages.js';
import type { ProbeContext } from './transport.js';

export type { ProbeResult, StageResult, StageName, ProbeError } from './stages.js';

export interface ProbeOptions {
  /** Resolves the account's secret (keychain, env, command) when the login stage needs it. */
  secret: () => Promise<string>;
  /** Deadline for the whole account (default 15 s). */
  timeoutMs?: number;
  /** SMTP accounts: also send one test message to this address. */
  sendTo?: string;
  /** The account's debug log (redacting), when its debug flag is on. */
  debugLog?: DebugLog;
  now?: () => Date;
  lookup?: LookupFn;
  tls?: TlsDeps;
}

const DEFAULT_PROBE_TIMEOUT_MS = 15_000;

export async function probeAccount(account: Account, options: ProbeOptions): Promise<ProbeResult> {
  const started = performance.now();
  const peer = new Peer(account);
  peer.stage = 'setup';
  const recorder = new StageRecorder(peer);
  const log = options.debugLog;
  log?.note(`mailbox test: ${account.type} ${account.host}:${account.port} security ${account.security}`);
  let failure: StageFailed | undefined;
  let secret: string | undefined;
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  try {
    const ctx: ProbeContext = {
      account,
      peer,
      recorder,
      timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
      plan: await handshakePlan(account, options.tls),
      tap: log?.tap,
      note: (text) => log?.note(text),
      now: options.now ?? (() => new Date()),
      lookup: options.lookup,
      secret: async () => {
        secret = await options.secret();
        log?.addSecret(secret);
        return secret;
      },
      sendTo: account.type === 'smtp' ? options.sendTo : undefined,
    };
    if (account.type === 'imap') await probeImap(ctx);
    else if (account.type === 'pop3') await probePop3(ctx);
    else await probeSmtp(ctx);
  } catch (err) {
    if (err instanceof StageFailed) failure = err;
    else {
      // Before any stage (a CA file that cannot be read): a configuration problem of its own.
      failure = new StageFailed(err instanceof MailboxError ? err : peer.system(err));
    }
  }
  const error = failure?.error;
  for (const warning of recorder.warnings) log?.note(`warning: ${warning}`);
  if (error) log?.note(`failed: ${error.message}${error.hint ? ` (hint: ${error.hint})` : ''}`);
  const result: ProbeResult = {
    account: account.name,
    type: account.type,
    server: `${account.host}:${account.port}`,
    security: account.security,
    ok: !error,
    ms: Math.round(performance.now() - started),
    stages: recorder.stages,
    warnings: recorder.warnings,
    error: error ? { code: error.code, message: error.message, hint: error.hint ?? null, fixes: error.fixes, account: error.account ?? account.name } : null,
    exitCode: error ? ErrorCodes[error.code] : 0,
  };
  return scrubDeep(result, secretScrubber([secret], account.user));
}
