// `mailbox discover`: every source raced, each bounded by its own timeout and all by the whole
// discovery's; each server verified as soon as a source names it; the usual host names guessed only
// for a role nothing else served. The answer is given once every source has settled and every
// verification is done, or as soon as it cannot get better (the best server of each role verified,
// with implicit TLS, and no better source still out), or at the deadline with what is in.
import { performance } from 'node:perf_hooks';
import { domainToASCII } from 'node:url';
import type { AccountType } from '../../core/account.js';
import type { Dns } from '../net/dns.js';
import { autoconfigSource, DEFAULT_ISPDB_URL, ispdbSource } from './autoconfig.js';
import { mxSource, srvSource } from './dns-records.js';
import { guessSource } from './guess.js';
import { presetSource } from './presets.js';
import { compareCandidates, preferSource, rankCandidates, roleOf, roleTypes, serverKey, type Role } from './rank.js';
import type { Source, SourceContext } from './source.js';
import { sourceRank, SOURCES, type Candidate, type DiscoveryResult, type Found, type SourceName, type SourceReport, type Verification } from './types.js';
import { verifyServer as probeVerify, type VerifyServer } from './verify.js';

export type { Candidate, DiscoveryResult, SourceReport, SourceName } from './types.js';
export { DEFAULT_ISPDB_URL } from './autoconfig.js';

export const DEFAULT_DISCOVER_TIMEOUT_MS = 10_000;
/** One verification's limit (less when the whole discovery has less left). */
const VERIFY_TIMEOUT_MS = 6000;
/** How long what is still out may take once the answer cannot get better. */
const GRACE_MS = 1000;

export interface DiscoverOptions {
  address: string;
  /** The types wanted (default all): incoming IMAP and POP3, outgoing SMTP. */
  types?: readonly AccountType[];
  /** Check each server (connect, TLS, capabilities; never a login). */
  verify: boolean;
  timeoutMs?: number;
  dns: Dns;
  /** The ISPDB's base URL (default: Thunderbird's). */
  ispdbUrl?: string;
  now?: () => Date;
  /** The check of one server (default: the staged probe, stopped before the login). */
  verifyServer?: VerifyServer;
}

const FIRST_SOURCES: readonly Source[] = [presetSource, autoconfigSource, srvSource, ispdbSource, mxSource];

/** Settles with `work`, or rejects with the signal's reason when it aborts first: a source that ignores its signal cannot hold the answer up. */
function bounded<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

class Discovery {
  private readonly started = performance.now();
  private readonly finish = new AbortController();
  readonly deadline: AbortSignal;
  private readonly candidates = new Map<string, Candidate>();
  private readonly checks = new Map<string, Verification>();
  private readonly verifying = new Set<string>();
  private readonly running = new Set<SourceName>();
  private readonly reports = new Map<SourceName, SourceReport>();
  private readonly types: readonly AccountType[];
  private readonly timeoutMs: number;
  private wake: () => void = () => undefined;
  private changed: Promise<void> = Promise.resolve();

  constructor(
    private readonly o: DiscoverOptions,
    readonly domain: string,
  ) {
    this.types = o.types ?? ['imap', 'pop3', 'smtp'];
    this.timeoutMs = o.timeoutMs ?? DEFAULT_DISCOVER_TIMEOUT_MS;
    this.deadline = AbortSignal.any([this.finish.signal, AbortSignal.timeout(this.timeoutMs)]);
    this.rearm();
  }

  private rearm(): void {
    this.changed = new Promise((resolve) => (this.wake = resolve));
  }

  private notify(): void {
    const wake = this.wake;
    this.rearm();
    wake();
  }

  private remainingMs(): number {
    return this.timeoutMs - (performance.now() - this.started);
  }

  get roles(): Role[] {
    return (['incoming', 'outgoing'] as const).filter((r) => roleTypes(r, this.types).length > 0);
  }

  run(source: Source): void {
    const t0 = performance.now();
    const own = AbortSignal.timeout(Math.max(1, Math.round(Math.min(source.timeoutMs, this.remainingMs()))));
    const signal = AbortSignal.any([this.deadline, own]);
    // Host names of HTTP fetches resolve through the configured name servers, cancelled with the source.
    const lookup = this.o.dns.servers ? (host: string) => this.o.dns.addresses(host, signal) : undefined;
    const ctx: SourceContext = { address: this.o.address, domain: this.domain, dns: this.o.dns, lookup, ispdbUrl: this.o.ispdbUrl ?? DEFAULT_ISPDB_URL, signal };
    const report = (status: SourceReport['status'], detail: string) => this.reports.set(source.name, { name: source.name, status, detail, ms: Math.round(performance.now() - t0) });
    this.running.add(source.name);
    void bounded(source.run(ctx), signal)
      .then(
        (answer) => {
          const added = this.add(answer.found);
          report(added > 0 ? 'found' : 'nothing', answer.detail);
        },
        (err: unknown) => {
          if (this.finish.signal.aborted) report('skipped', 'not awaited: the answer was complete');
          else if (signal.aborted) report('timeout', `no answer within ${Math.round(performance.now() - t0)} ms`);
          else report('failed', (err as Error).message);
        },
      )
      .finally(() => {
        this.running.delete(source.name);
        this.notify();
      });
  }

  /** Merges found servers into the candidates; returns how many of the wanted types there were. */
  private add(found: Found[]): number {
    let wanted = 0;
    for (const f of found) {
      if (!this.types.includes(f.type)) continue;
      wanted++;
      const key = serverKey(f);
      const known = this.candidates.get(key);
      if (known) {
        if (sourceRank(f.source) < sourceRank(known.source)) preferSource(known, f);
        else if (f.source !== known.source && !known.confirmedBy.includes(f.source)) known.confirmedBy.push(f.source);
        continue;
      }
      const candidate: Candidate = { ...f, warnings: [...f.warnings], confirmedBy: [], verified: null, stages: [], error: null };
      this.candidates.set(key, candidate);
      if (this.o.verify) this.check(key, candidate);
    }
    return wanted;
  }

  private check(key: string, c: Candidate): void {
    this.verifying.add(key);
    const verify = this.o.verifyServer ?? probeVerify;
    const timeoutMs = Math.max(1, Math.round(Math.min(VERIFY_TIMEOUT_MS, this.remainingMs())));
    const lookup = this.o.dns.servers ? (host: string) => this.o.dns.addresses(host, this.deadline) : undefined;
    void verify(c, { lookup, signal: this.deadline, timeoutMs, now: this.o.now })
      .then((v) => {
        if (!this.finish.signal.aborted) this.checks.set(key, v);
      })
      .catch(() => undefined)
      .finally(() => {
        this.verifying.delete(key);
        this.notify();
      });
  }

  private verified(c: Candidate): boolean {
    return this.checks.get(serverKey(c))?.verified === true;
  }

  /** A role has what it needs: a verified server, or (without verification) any server. */
  served(role: Role): boolean {
    return [...this.candidates.values()].some((c) => roleOf(c.type) === role && (this.o.verify ? this.verified(c) : true));
  }

  /**
   * The answer cannot get better: for each role the best verified server is of the best kind (the
   * role's first type, implicit TLS), and no source or check still out could outrank it.
   */
  complete(): boolean {
    if (!this.o.verify) return false;
    return this.roles.every((role) => {
      const [firstType] = roleTypes(role, this.types);
      const top = [...this.candidates.values()].filter((c) => c.type === firstType && c.security === 'tls');
      const best = top.filter((c) => this.verified(c)).sort((a, b) => sourceRank(a.source) - sourceRank(b.source))[0];
      if (!best) return false;
      const rank = sourceRank(best.source);
      const betterSourceOut = [...this.running].some((s) => sourceRank(s) < rank);
      const betterCheckOut = top.some((c) => this.verifying.has(serverKey(c)) && sourceRank(c.source) < rank);
      return !betterSourceOut && !betterCheckOut;
    });
  }

  /**
   * Waits until everything out has settled, or the deadline. Once the answer is complete, what is
   * still out gets GRACE_MS more (so sources and checks that answer normally are still shown), not
   * its own timeout: a source that hangs then costs that much at most.
   */
  async settle(): Promise<void> {
    const deadline = new Promise<void>((resolve) => {
      if (this.deadline.aborted) resolve();
      this.deadline.addEventListener('abort', () => resolve(), { once: true });
    });
    let grace: Promise<void> | undefined;
    while (!this.idle() && !this.deadline.aborted) {
      if (!grace && this.complete()) grace = new Promise((resolve) => setTimeout(resolve, GRACE_MS).unref());
      if (grace && (await Promise.race([grace.then(() => true), this.changed.then(() => false), deadline.then(() => true)]))) return;
      if (!grace) await Promise.race([this.changed, deadline]);
    }
  }

  idle(): boolean {
    return this.running.size === 0 && this.verifying.size === 0;
  }

  /** Ends everything still out and words the result. */
  close(verify: boolean): { candidates: Candidate[]; sources: SourceReport[] } {
    const complete = this.complete();
    const late = new Set(this.verifying);
    const outstanding = [...this.running];
    this.finish.abort();
    for (const name of outstanding) {
      if (!this.reports.has(name)) this.reports.set(name, { name, status: complete ? 'skipped' : 'timeout', detail: complete ? 'not awaited: a better server was already verified' : 'no answer within the time limit', ms: Math.round(performance.now() - this.started) });
    }
    const candidates = [...this.candidates.entries()].flatMap(([key, c]) => {
      const v = this.checks.get(key);
      if (v) {
        // A guessed name where nothing listens is no candidate at all.
        const failedAt = v.stages.find((s) => !s.ok)?.name;
        if (c.source === 'guess' && !v.verified && (failedAt === 'resolve' || failedAt === 'connect')) return [];
        return [{ ...c, verified: v.verified, stages: v.stages, error: v.error, warnings: [...c.warnings, ...v.warnings.filter((w) => !c.warnings.includes(w))] }];
      }
      if (!verify) return [{ ...c }];
      if (c.source === 'guess') return [];
      const why = late.has(key) && complete ? 'not checked: a better server was already verified' : 'not verified within the time limit';
      return [{ ...c, verified: late.has(key) && complete ? null : false, error: late.has(key) && complete ? null : { code: 'ETIMEDOUT' as const, message: why, hint: 'allow a longer --timeout if the network is slow' }, warnings: [...c.warnings, ...(late.has(key) && complete ? [why] : [])] }];
    });
    const sources = [...this.reports.values()].sort((a, b) => SOURCES.indexOf(a.name) - SOURCES.indexOf(b.name));
    return { candidates: rankCandidates(candidates, verify), sources };
  }
}

/** The domain of an address as DNS asks for it: lower case, an international name in its ASCII (punycode) form. */
export function domainOf(address: string): string {
  const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  return domainToASCII(domain) || domain;
}

export async function discover(o: DiscoverOptions): Promise<DiscoveryResult> {
  const domain = domainOf(o.address);
  const d = new Discovery(o, domain);
  for (const source of FIRST_SOURCES) d.run(source);
  await d.settle();
  const missing = d.roles.filter((role) => !d.served(role));
  const types = o.types ?? ['imap', 'pop3', 'smtp'];
  if (missing.length > 0 && !d.deadline.aborted && !d.complete()) {
    d.run(guessSource(missing.flatMap((role) => roleTypes(role, types))));
    await d.settle();
  }
  const { candidates, sources } = d.close(o.verify);
  if (!sources.some((s) => s.name === 'guess')) {
    const why = d.deadline.aborted && missing.length > 0 ? 'not tried: the time limit was reached' : 'not needed: the other sources served every type';
    sources.push({ name: 'guess', status: 'skipped', detail: why, ms: 0 });
  }
  return { address: o.address, domain, candidates, sources, verify: o.verify };
}

/** How a discovery ended for the roles asked for: every role verified, some found but not verified, or some with nothing at all. */
export function discoveryOutcome(result: DiscoveryResult, types: readonly AccountType[] = ['imap', 'pop3', 'smtp']): 'verified' | 'unverified' | 'none' {
  const roles = (['incoming', 'outgoing'] as const).filter((r) => roleTypes(r, types).length > 0);
  const of = (role: Role) => result.candidates.filter((c) => roleOf(c.type) === role);
  if (roles.some((r) => of(r).length === 0)) return 'none';
  if (!result.verify) return 'verified';
  return roles.every((r) => of(r).some((c) => c.verified === true)) ? 'verified' : 'unverified';
}

/** The best candidate of a type (or of the incoming role when no type is given) that is verified (or, without verification, found). */
export function bestCandidate(result: DiscoveryResult, type?: AccountType): Candidate | undefined {
  const pool = result.candidates.filter((c) => (type ? c.type === type : roleOf(c.type) === 'incoming') && (result.verify ? c.verified === true : true));
  return pool.sort(compareCandidates)[0];
}
