// Running a discovery from the CLI (the network settings of the environment, a spinner on a
// terminal) and showing its result: the candidates per role with their origin and verification,
// and what every source said. Shared by `mailbox discover`, `add --discover` and the wizard.
import type { ChalkInstance } from 'chalk';
import type { AccountInput, AccountType } from '../core/account.js';
import { invalid, MailboxError } from '../core/errors.js';
import { isAddress } from '../core/validate.js';
import type { Candidate, DiscoveryResult } from '../protocols/discovery/index.js';
import type { Context } from './context.js';
import { dnsOf, ispdbUrlOf } from './network.js';

export interface DiscoveryRunOptions {
  types?: readonly AccountType[];
  verify: boolean;
  timeoutMs?: number;
}

export function parseDiscoverAddress(value: string, field = 'address'): string {
  const address = value.trim();
  if (!isAddress(address) || address.endsWith(']')) throw invalid(field, value, 'an email address with a domain name, such as me@example.com');
  return address;
}

/** Discovers the servers of `address` with the environment's DNS and ISPDB settings; a spinner line on a terminal. */
export async function runDiscovery(ctx: Context, address: string, o: DiscoveryRunOptions): Promise<DiscoveryResult> {
  const dns = dnsOf(ctx.env);
  const ispdbUrl = ispdbUrlOf(ctx.env);
  const { discover } = await import('../protocols/discovery/index.js');
  const spin = !ctx.out.json && ctx.io.stderr.isTTY;
  if (spin) ctx.io.stderr.write(`looking up the servers of ${address} ...`);
  try {
    return await discover({ address, types: o.types, verify: o.verify, timeoutMs: o.timeoutMs, dns, ispdbUrl, now: ctx.now });
  } finally {
    if (spin) ctx.io.stderr.write('\r\x1b[K');
  }
}

/** The JSON shape of a candidate (`mailbox discover --json`). */
export function candidateJson(c: Candidate) {
  return {
    type: c.type,
    host: c.host,
    port: c.port,
    security: c.security,
    auth: c.auth,
    oauthProvider: c.oauthProvider,
    user: c.user,
    source: c.source,
    origin: c.origin,
    confirmedBy: c.confirmedBy,
    verified: c.verified,
    stages: c.stages.map((s) => ({ name: s.name, ok: s.ok, ms: s.ms, detail: s.detail })),
    warnings: c.warnings,
    error: c.error,
  };
}

export function discoveryJson(r: DiscoveryResult) {
  return { address: r.address, candidates: r.candidates.map(candidateJson), sources: r.sources };
}

/** "imap imap.example.com:993 tls": a candidate in a few words. */
export function candidateTitle(c: Candidate): string {
  return `${c.type} ${c.host}:${c.port} ${c.security}`;
}

function authWords(c: Candidate): string {
  if (c.auth === 'oauth2') return `oauth2${c.oauthProvider ? ` (${c.oauthProvider})` : ''}`;
  return c.auth;
}

/** The TLS session and the login mechanisms offered, in a few words. */
function checkSummary(c: Candidate): string {
  const tls = c.stages.find((s) => s.name === 'tls')?.data as { protocol?: string; certificate?: { subject: string; issuer: string; validTo: string } | null } | undefined;
  const caps = c.stages.find((s) => s.name === 'capabilities')?.data as { mechanisms?: string[] } | undefined;
  const parts: string[] = [];
  if (tls) {
    const cert = tls.certificate;
    parts.push(`${tls.protocol ?? 'TLS'}${cert ? `, certificate ${cert.subject} by ${cert.issuer}, trusted, expires ${cert.validTo.slice(0, 10)}` : ''}`);
  } else parts.push('no TLS');
  if (caps?.mechanisms) parts.push(`login mechanisms ${caps.mechanisms.join(' ') || 'none announced'}`);
  return parts.join('; ');
}

function renderCandidate(c: Candidate, color: ChalkInstance): string[] {
  const mark = c.verified === true ? color.green('✓') : c.verified === false ? color.red('✗') : color.yellow('?');
  const lines = [`  ${mark} ${candidateTitle(c)}, auth ${authWords(c)}, user ${c.user}`];
  lines.push(`      from ${c.source}: ${c.origin}${c.confirmedBy.length ? `; also ${c.confirmedBy.join(', ')}` : ''}`);
  if (c.verified === true) {
    lines.push(`      verified in ${c.stages.reduce((n, s) => n + s.ms, 0)} ms (${c.stages.map((s) => s.name).join(', ')}): ${checkSummary(c)}`);
  } else if (c.error) {
    const failed = c.stages.find((s) => !s.ok)?.name;
    lines.push(`      ${color.red('not verified')}${failed ? ` at ${failed}` : ''}: ${c.error.message}`);
    if (c.error.hint) lines.push(`        hint: ${c.error.hint}`);
  } else if (c.verified === null && c.stages.length === 0) {
    lines.push('      not verified (--no-verify)');
  }
  for (const w of c.warnings) lines.push(color.yellow(`      ! ${w}`));
  return lines;
}

export function renderDiscovery(r: DiscoveryResult, color: ChalkInstance): string {
  const lines: string[] = [];
  for (const [role, title] of [['incoming', 'incoming (IMAP preferred, then POP3)'], ['outgoing', 'outgoing (SMTP)']] as const) {
    const list = r.candidates.filter((c) => (role === 'incoming') === (c.type !== 'smtp'));
    lines.push(color.bold(`${title}: ${list.length ? '' : 'nothing found'}`.trimEnd()));
    for (const c of list) lines.push(...renderCandidate(c, color));
  }
  lines.push(color.bold('sources'));
  const width = Math.max(...r.sources.map((s) => s.name.length));
  for (const s of r.sources) lines.push(`  ${s.name.padEnd(width)}  ${s.status.padEnd(7)}  ${s.detail}${s.ms ? ` (${s.ms} ms)` : ''}`);
  return lines.join('\n');
}

/** The fields a candidate fills in: flags the user gave win, so those are left as they are. */
const FILLED = ['type', 'host', 'port', 'security', 'auth', 'user'] as const;

/** Lays a candidate's values over account input, except the fields given explicitly. */
export function applyCandidate(input: AccountInput, c: Candidate, given: ReadonlySet<string>): void {
  for (const field of FILLED) if (!given.has(field)) input[field] = c[field];
}

/** A name for an account made from a discovered server: "example.com-imap". */
export function suggestedName(address: string, type: AccountType): string {
  return `${address.slice(address.lastIndexOf('@') + 1).toLowerCase()}-${type}`.slice(0, 64);
}

/**
 * `add --discover ADDRESS`: the best verified server of the type (of the incoming ones without a
 * type), shown on stderr with where it came from; an error when there is none, saying what to do.
 */
export async function discoverForAdd(ctx: Context, address: string, type: AccountType | undefined): Promise<Candidate> {
  const types: AccountType[] = type ? [type] : ['imap', 'pop3'];
  const result = await runDiscovery(ctx, parseDiscoverAddress(address, 'discover'), { types, verify: true });
  const { bestCandidate, discoveryOutcome } = await import('../protocols/discovery/index.js');
  const best = bestCandidate(result, type);
  if (!best) {
    const what = type ? `${type} server` : 'incoming server';
    const none = discoveryOutcome(result, types) === 'none';
    throw new MailboxError(none ? 'EUNREACHABLE' : 'EPROTOCOL', `no ${none ? '' : 'verified '}${what} found for ${address}`, {
      hint: `mailbox discover ${address}${type ? ` --type ${type}` : ''} shows what each source found and why; or give the server by hand (--host, --port, --security)`,
    });
  }
  ctx.out.info(`discovered ${candidateTitle(best)}, auth ${authWords(best)}, user ${best.user} (from ${best.source}: ${best.origin}; verified)`);
  for (const w of best.warnings) ctx.out.warn(w);
  return best;
}
