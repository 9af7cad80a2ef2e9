// Verification of one found server: the staged probe of `mailbox test` (resolve, connect, TLS with
// the certificate checked, greeting, capabilities), stopped before the login. Nothing is sent that
// needs a secret; the probe's secret function is never reached and says so if it were.
import type { Account } from '../../core/account.js';
import type { LookupFn } from '../net/socket.js';
import { probeAccount } from '../probe/index.js';
import type { ServerSpec, Verification } from './types.js';

export interface VerifyOptions {
  lookup?: LookupFn;
  signal: AbortSignal;
  timeoutMs: number;
  now?: () => Date;
}

export type VerifyServer = (spec: ServerSpec, options: VerifyOptions) => Promise<Verification>;

/** The name failures of a candidate carry ("account candidate: host:port ..."). */
export const CANDIDATE_NAME = 'candidate';

const NO_MECHANISM = 'none the account can use';
const ACCOUNT_PREFIX = new RegExp(`^account ${CANDIDATE_NAME}: `);

export const verifyServer: VerifyServer = async (spec, o) => {
  const account: Account = {
    name: CANDIDATE_NAME,
    type: spec.type,
    host: spec.host,
    port: spec.port,
    security: spec.security,
    auth: spec.auth,
    user: spec.user,
    active: true,
    debug: false,
    tls: {},
    ...(spec.type === 'imap' ? { folder: 'INBOX' } : {}),
  };
  const result = await probeAccount(account, {
    secret: () => Promise.reject(new Error('discovery never logs in')),
    stopBefore: 'login',
    timeoutMs: o.timeoutMs,
    signal: o.signal,
    lookup: o.lookup,
    now: o.now,
  });
  const warnings = [...result.warnings];
  const caps = result.stages.find((s) => s.name === 'capabilities')?.data;
  if (result.ok && caps?.configured === NO_MECHANISM) {
    const offered = (caps.mechanisms as string[] | undefined)?.join(' ') || 'none';
    warnings.push(`the server offers no login mechanism mailbox can use with auth ${spec.auth} (offered: ${offered})`);
  }
  // The probe words failures for an account; a candidate is none yet.
  const unnamed = (text: string) => text.replace(ACCOUNT_PREFIX, '');
  const error = result.error ? { code: result.error.code, message: unnamed(result.error.message), hint: result.error.hint } : null;
  const stages = result.stages.map((s) => (s.ok ? s : { ...s, detail: unnamed(s.detail) }));
  return { verified: result.ok, stages, error, warnings, ms: result.ms };
};
