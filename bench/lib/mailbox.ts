// Driving the built `mailbox` executable the way an admin does: a MAILBOX_HOME per run, accounts whose
// password comes from an environment variable and whose server certificate is checked against the bench CA.
import fs from 'node:fs';
import path from 'node:path';
import { passwordOf, repoRoot, type BenchEnv } from './env.js';
import type { Cmd, Job } from './job.js';
import { compareSample, expectCount, expectSize } from './maildir.js';
import { mustRun, run } from './proc.js';
import { HOST } from './servers.js';
import type { CorpusKind } from './corpus.js';

/** The checkout whose built mailbox is measured (--mailbox DIR; default this repository). */
export let CHECKOUT = repoRoot();
export let BIN = path.join(CHECKOUT, 'bin', 'mailbox');

export function useCheckout(dir: string): void {
  CHECKOUT = path.resolve(dir);
  BIN = path.join(CHECKOUT, 'bin', 'mailbox');
}
export const PASSWORD_VAR = 'BENCH_MAIL_PASSWORD';

export interface AccountSpec {
  name: string;
  type: 'imap' | 'pop3' | 'smtp';
  port: number;
  user: string;
  /** Default true. */
  active?: boolean;
}

/** Environment of a mailbox process: nothing from the developer's shell but PATH; every account is alice's or bob's. */
export function mailboxEnv(home: string, user = 'alice'): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, MAILBOX_HOME: home, NO_COLOR: '1', [PASSWORD_VAR]: passwordOf(user) };
}

/** Subcommands the built executable offers (from `mailbox --help`), to tell what has landed. */
export async function mailboxCommands(): Promise<Set<string>> {
  if (!fs.existsSync(path.join(CHECKOUT, 'dist', 'cli', 'main.js'))) return new Set();
  const help = await run(process.execPath, [BIN, '--help'], { env: { PATH: process.env.PATH, NO_COLOR: '1' } });
  const commands = help.stdout.split(/^Commands:$/m)[1] ?? '';
  return new Set([...commands.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]!));
}

export function notLanded(commands: Set<string>, needed: string[]): string | undefined {
  if (commands.size === 0) return 'mailbox is not built: run npm run build';
  const missing = needed.filter((c) => !commands.has(c));
  return missing.length ? `mailbox ${missing.join(', ')} not available yet in this build` : undefined;
}

function accountFlags(env: BenchEnv, a: AccountSpec): string[] {
  return [
    '--type', a.type, '--name', a.name, '--host', HOST, '--port', String(a.port), '--security', 'tls',
    '--user', a.user, '--password-env', PASSWORD_VAR, '--ca', env.certs.caFile,
    ...(a.type === 'smtp' ? ['--from', 'alice@example.test'] : []),
    ...(a.active === false ? ['--inactive'] : []),
  ];
}

/** Configures accounts as an admin would: `mailbox add ... --password-env VAR --ca FILE` (untested: the bench checks the result). */
export async function addAccounts(env: BenchEnv, home: string, accounts: AccountSpec[]): Promise<void> {
  fs.mkdirSync(home, { recursive: true });
  for (const a of accounts) {
    await mustRun(process.execPath, [BIN, 'add', ...accountFlags(env, a), '--no-test'], { env: mailboxEnv(home) });
  }
}

/** Many accounts in one go: the document `mailbox export` prints, given to `mailbox apply -f -`. */
export async function applyAccounts(env: BenchEnv, home: string, accounts: AccountSpec[]): Promise<void> {
  const doc = {
    accounts: accounts.map((a) => ({
      name: a.name,
      type: a.type,
      host: HOST,
      port: a.port,
      security: 'tls',
      user: a.user,
      secret: { kind: 'env', name: PASSWORD_VAR },
      ...(a.type === 'smtp' ? { from: 'alice@example.test' } : {}),
      active: a.active ?? true,
      tls: { ca: env.certs.caFile },
    })),
    filters: [],
  };
  fs.mkdirSync(home, { recursive: true });
  await mustRun(process.execPath, [BIN, 'apply', '-f', '-'], { env: mailboxEnv(home), input: JSON.stringify(doc) });
}

export function runOnce(home: string, user: string): Cmd {
  return { cmd: process.execPath, args: [BIN, 'run', '--once'], opts: { env: mailboxEnv(home, user) } };
}

export const inboxOf = (home: string) => path.join(home, 'mail', 'inbox');

export interface ReadSpec {
  proto: 'imap' | 'pop3';
  user: string;
  port: number;
  expected: number;
  /** Compare a sample of stored messages with this corpus (none for the big message). */
  kind?: CorpusKind;
  /** The one stored message must have this size (the big message, as the server sends it). */
  size?: number;
}

/** `mailbox run --once` into an empty MAILBOX_HOME: everything in the server mailbox lands in mail/inbox. */
export function mailboxReadJob(env: BenchEnv, spec: ReadSpec, unavailable: string | undefined): Job {
  let home = '';
  return {
    tool: `mailbox run --once (${spec.proto.toUpperCase()}S)`,
    unavailable,
    async prepare() {
      home = env.fresh(`mailbox-${spec.proto}`);
      await addAccounts(env, home, [{ name: `bench-${spec.proto}`, type: spec.proto, port: spec.port, user: spec.user }]);
      return [runOnce(home, spec.user)];
    },
    verify() {
      expectCount(inboxOf(home), spec.expected);
      if (spec.kind && env.opts.sample > 0) compareSample(inboxOf(home), spec.kind, env.opts.sample);
      if (spec.size !== undefined) expectSize(inboxOf(home), spec.size);
    },
    cleanup: () => fs.rmSync(home, { recursive: true, force: true }),
  };
}
