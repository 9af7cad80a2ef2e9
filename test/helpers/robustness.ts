// Shared by the robustness tests: scripted servers stopped after each test, accounts pointing at
// them, and the checks every failure must pass (a MailboxError, the right exit code, no secret, no
// CLI flag in the hint).
import { afterEach, expect } from 'vitest';
import type { Account, AccountType } from '../../src/core/account.js';
import { MailboxError } from '../../src/core/errors.js';
import { probeAccount, type ProbeResult } from '../../src/protocols/probe/index.js';
import { startScriptedServer, type Script, type ScriptedServer, type ScriptedServerOptions } from '../harness/scripted-server.js';

/** A password with the characters that break naive quoting and encoding. */
export const SECRET = 'Pa55-wörd"secret';

/** Starts scripted servers and stops them after each test of the file that calls it. */
export function scriptedServers(): (script: Script, options?: ScriptedServerOptions) => Promise<ScriptedServer> {
  let servers: ScriptedServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    servers = [];
  });
  return async (script, options) => {
    const srv = await startScriptedServer(script, options);
    servers.push(srv);
    return srv;
  };
}

export function scriptedAccount(srv: Pick<ScriptedServer, 'host' | 'port'>, type: AccountType, over: Partial<Account> = {}): Account {
  return {
    name: `odd-${type}`,
    type,
    host: srv.host,
    port: srv.port,
    security: 'none',
    auth: 'password',
    user: 'alice',
    secret: { kind: 'env', name: 'PW' },
    active: true,
    debug: false,
    tls: {},
    ...(type === 'imap' ? { folder: 'INBOX' } : {}),
    ...over,
  };
}

export function probe(account: Account, timeoutMs = 5000): Promise<ProbeResult> {
  return probeAccount(account, { secret: async () => SECRET, timeoutMs });
}

/**
 * Every form the secret could leak in: plain, latin1-decoded UTF-8, escaped inside a JSON string,
 * base64 of it and of a PLAIN payload, and the base64 of its bytes at each of the three alignments
 * inside a longer base64 text (so any SASL payload that carries it: LOGIN, XOAUTH2, OAUTHBEARER).
 */
export function secretForms(user = 'alice', secret = SECRET): string[] {
  const bytes = Buffer.from(secret);
  const aligned = [0, 1, 2].map((pad) => Buffer.concat([Buffer.alloc(pad), bytes]).toString('base64').slice(Math.ceil((pad * 8) / 6), -4));
  return [secret, bytes.toString('latin1'), JSON.stringify(secret).slice(1, -1), bytes.toString('base64'), Buffer.from(`\0${user}\0${secret}`).toString('base64'), ...aligned];
}

/** The forms of the secret found in `text` (none, for a test to pass). */
export function leaks(text: string, user = 'alice', secret = SECRET): string[] {
  return secretForms(user, secret).filter((form) => text.includes(form));
}

/** The probe failed at `stage` with `exit`, and nothing in its result carries the secret. */
export function expectProbeFailure(result: ProbeResult, exit: number, stage: string): NonNullable<ProbeResult['error']> {
  const json = JSON.stringify(result);
  for (const form of secretForms()) expect(json).not.toContain(form);
  expect(result.ok).toBe(false);
  expect(result.error, JSON.stringify(result.stages)).not.toBeNull();
  expect({ exit: result.exitCode, stage: result.stages.at(-1)?.name, error: result.error!.message }).toMatchObject({ exit, stage });
  expectNoFlags(result.error!.hint);
  return result.error!;
}

/** Hints below the CLI say what to do in words; the account settings to change travel as `fixes`. */
export function expectNoFlags(hint: string | null | undefined): void {
  expect(hint ?? '').not.toMatch(/(^|[\s(])--[a-z]/);
}

export function expectProbeOk(result: ProbeResult): ProbeResult {
  expect(result.error, result.error?.message).toBeNull();
  expect(result.ok).toBe(true);
  return result;
}

/** The promise rejects with a MailboxError that carries no secret. */
export async function expectFailure(promise: Promise<unknown>): Promise<MailboxError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a failure').toBeInstanceOf(MailboxError);
  const m = err as MailboxError;
  for (const form of secretForms()) expect(`${m.message} ${m.hint ?? ''}`).not.toContain(form);
  expectNoFlags(m.hint);
  return m;
}
