// What discovery finds: servers from each source, the candidates they make once merged and verified,
// and a report of every source (what it found, or why not).
import type { AccountType, AuthMethod, Security } from '../../core/account.js';
import type { OAuthProviderId } from '../../core/providers.js';
import type { ProbeError, StageResult } from '../probe/index.js';

/**
 * The sources, best first: this order breaks ties between equally good candidates. The domain's
 * own autoconfig and SRV records outrank the ISPDB (a third party) and the MX mapping (an inference);
 * plain-http autoconfig and guessed names come last.
 */
export const SOURCES = ['preset', 'autoconfig', 'srv', 'ispdb', 'mx', 'autoconfig-http', 'guess'] as const;
export type SourceName = (typeof SOURCES)[number];

export function sourceRank(source: SourceName): number {
  return SOURCES.indexOf(source);
}

/** One server as a source describes it. */
export interface ServerSpec {
  type: AccountType;
  host: string;
  port: number;
  security: Security;
  auth: AuthMethod;
  /** The OAuth 2.0 provider, when auth is oauth2 and the provider is known. */
  oauthProvider: OAuthProviderId | null;
  /** The login name (the address, or its local part where the source says so). */
  user: string;
}

/** A server found by a source, with where exactly it came from. */
export interface Found extends ServerSpec {
  source: SourceName;
  /** The URL, DNS record or preset it came from, for people. */
  origin: string;
  /** What the source itself warns about (plain http, a host outside the domain, an app password). */
  warnings: string[];
}

export interface Verification {
  verified: boolean;
  stages: StageResult[];
  error: Pick<ProbeError, 'code' | 'message' | 'hint'> | null;
  warnings: string[];
  ms: number;
}

export interface Candidate extends Found {
  /** Other sources that found the same server (type, host, port, security). */
  confirmedBy: SourceName[];
  /** true: connect, TLS and capabilities passed; false: they did not; null: not checked (--no-verify). */
  verified: boolean | null;
  stages: StageResult[];
  error: Verification['error'];
}

export type SourceStatus = 'found' | 'nothing' | 'failed' | 'timeout' | 'skipped';

export interface SourceReport {
  name: SourceName;
  status: SourceStatus;
  /** What it found, or why it found nothing, in words. */
  detail: string;
  ms: number;
}

export interface DiscoveryResult {
  address: string;
  domain: string;
  /** Best first, per type: incoming (IMAP, then POP3), then outgoing. */
  candidates: Candidate[];
  sources: SourceReport[];
  verify: boolean;
}
