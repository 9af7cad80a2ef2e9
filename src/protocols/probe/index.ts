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
import { ProbeStopped, StageFailed, StageRecorder, type ProbeResult, type StageName, type StageOutcome } from './stages.js';
import type { ProbeContext } from './transport.js';

export type { ProbeResult, StageResult, StageName, ProbeError } from './stages.js';

export interface ProbeOptions {
  /** Resolves the account's secret (keychain, env, command) when the login stage needs it. */
  secret: () => Promise<string>;
  /** OAuth 2.0: gets the access token instead, as a `token` stage of its own before the login (`signal`: the deadline). */
  token?: (signal: AbortSignal) => Promise<StageOutcome<string>>;
  /** Deadline for the whole account (default 15 s). */
  timeoutMs?: number;
  /** SMTP accounts: also send one test message to this address. */
  sendTo?: string;
  /** The account's debug log (redacting), when its debug flag is on. */
  debugLog?: DebugLog;
  now?: () => Date;
  lookup?: LookupFn;
  tls?: TlsDeps;
  /** Stop before this stage and report success: discovery checks a server without logging in. */
  stopBefore?: StageName;
  /** Ends the probe before its deadline (the caller no longer needs the answer). */
  signal?: AbortSignal;
}

const DEFAULT_PROBE_TIMEOUT_MS = 15_000;

/** The token stage talks HTTP to the authorization server, not to the account's server: bounded by the same deadline. */
function beforeDeadline<T>(work: Promise<T>, signal: AbortSignal, account: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(new MailboxError('ETIMEDOUT', `account ${account}: the OAuth access token was not ready within the time limit`, { account, hint: 'the authorization server is slow or cannot be reached; allow a longer timeout if the network is slow' }));
    if (signal.aborted) return stop();
    signal.addEventListener('abort', stop, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
  });
}

export async function probeAccount(account: Account, options: ProbeOptions): Promise<ProbeResult> {
  const started = performance.now();
  const peer = new Peer(account);
  peer.stage = 'setup';
  const recorder = new StageRecorder(peer, options.stopBefore);
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
      signal: options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
      plan: await handshakePlan(account, options.tls),
      tap: log?.tap,
      note: (text) => log?.note(text),
      now: options.now ?? (() => new Date()),
      lookup: options.lookup,
      secret: async () => {
        secret = options.token ? await recorder.run('token', () => beforeDeadline(options.token!(ctx.signal), ctx.signal, account.name)) : await options.secret();
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
    else if (err instanceof ProbeStopped) log?.note(`stopped before ${options.stopBefore}`);
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
