// mailbox test: staged connection diagnostics for one, some, or all accounts, concurrently,
// printed in a stable order; the exit code is the first failing account's.
import type { Command } from 'commander';
import type { AccountView } from '../../core/account.js';
import { invalid, MailboxError } from '../../core/errors.js';
import { evaluateFilter, type AddressFilter } from '../../core/filter.js';
import { filterOf } from '../../core/problems.js';
import { requireAccount, sameName } from '../../core/rules.js';
import { isAddress, parseDuration, TIMEOUT_RANGE } from '../../core/validate.js';
import type { ProbeResult } from '../../protocols/probe/index.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';
import { dnsOf } from '../network.js';
import { probeJson, renderProbe, runProbe } from '../probe-view.js';
import { withProblem } from '../problems.js';
import { startSpinner } from '../spinner.js';

interface TestOptions {
  all?: boolean;
  timeout: string;
  sendTo?: string;
  ignoreFilter?: boolean;
  full?: boolean;
}

const EXAMPLES = `
Examples:
  $ mailbox test                          # every active account
  $ mailbox test work-imap work-smtp      # these two
  $ mailbox test --all --timeout 5 --json # every account, 5 s each, as JSON
  $ mailbox test work-smtp --send-to me@example.com   # also send one real message
  $ mailbox test work-smtp --send-to x@blocked.example --ignore-filter   # even where the filter blocks it
  $ mailbox test work-imap --full         # every value whole (the full certificate fingerprint)

Stages: resolve, connect, tls, greeting, capabilities, token (OAuth 2.0), login, probe (and send);
the first failure stops the account. On a terminal long details continue on indented lines and the
certificate fingerprint is shortened (--full shows it whole); a pipe and --json get every value whole.
Exit code: 0 all passed, else the first failing account's: 69 unreachable,
75 timeout, 76 TLS/protocol, 77 authentication, 78 configuration (secret missing), 66 no such account,
65 a --send-to address the server refused (or the account's outbound filter blocks).`;

/**
 * --send-to goes where the runner would never send: refused (65) when an SMTP account's outbound
 * filter blocks the address, unless --ignore-filter says so explicitly. A filter the account names
 * and that is missing (or faces the wrong way) sends nothing (78), as in the runner: never unfiltered.
 */
function checkOutboundFilter(accounts: readonly AccountView[], filters: readonly AddressFilter[], sendTo: string): void {
  for (const account of accounts.filter((a) => a.type === 'smtp')) {
    const filter = failClosed(() => filterOf(filters, account));
    const decision = filter && evaluateFilter(filter, sendTo);
    if (!filter || !decision?.blocked) continue;
    throw new MailboxError(
      'EVALUE',
      `--send-to ${sendTo} is blocked by the outbound filter ${filter.name} of account ${account.name} (deny pattern ${decision.decidedBy?.pattern}): mailbox run would never send there`,
      { field: 'send-to', hint: `send the test to an address the filter allows (mailbox filter test ${filter.name} ADDRESS tells), or add --ignore-filter to send it anyway` },
    );
  }
}

/** The runner's filter problem (core/problems.ts), with the way past it for a test message. */
function failClosed<T>(find: () => T): T {
  try {
    return find();
  } catch (err) {
    if (!(err instanceof MailboxError)) throw err;
    throw new MailboxError(err.code, err.message, { hint: `${err.hint}; or add --ignore-filter to send it anyway`, fixes: err.fixes, field: err.field, account: err.account });
  }
}

function selectAccounts(accounts: AccountView[], names: string[], all: boolean): AccountView[] {
  if (names.length === 0) return all ? accounts : accounts.filter((a) => a.active);
  const chosen: AccountView[] = [];
  for (const name of names) {
    const account = requireAccount(accounts, name);
    if (!chosen.some((c) => sameName(c.name, account.name))) chosen.push(account);
  }
  return chosen;
}

/**
 * An incoming account with a destination (issue 13): after a probe that passed, a `destination` stage
 * says whether it could take a message now (an LMTP server answers, the MDA program exists, the
 * Maildir can be written), changing nothing. A failure is the account's configuration (78).
 */
async function withDestination(ctx: Context, account: AccountView, result: ProbeResult): Promise<ProbeResult> {
  if (!result.ok || !account.deliver) return result;
  const { checkDestination } = await import('../../jobs/destinations.js');
  const stage = await checkDestination(account, { env: ctx.env, host: { killGroup: () => undefined }, lmtpTimeoutMs: 10_000, lookup: dnsOf(ctx.env).lookup });
  if (!stage) return result;
  const stages = [...result.stages, { name: 'destination' as const, ...stage }];
  if (stage.ok) return { ...result, stages };
  const error = new MailboxError('ECONFIG', `account ${account.name}: its destination ${account.deliver} cannot take mail now: ${stage.detail}`, {
    hint: 'received mail is stored and waits for the destination (retried with back-off)',
    fixes: [{ field: 'deliver', value: 'DEST' }],
  });
  return { ...result, stages, ok: false, exitCode: error.exitCode, error: { code: error.code, message: error.message, hint: error.hint ?? null, fixes: error.fixes, account: account.name } };
}

export async function testAccounts(ctx: Context, names: string[], opts: TestOptions): Promise<number> {
  const timeoutMs = parseDuration(opts.timeout, 'timeout', TIMEOUT_RANGE);
  if (opts.sendTo !== undefined && !isAddress(opts.sendTo)) throw invalid('send-to', opts.sendTo, 'an email address such as me@example.com');
  if (opts.ignoreFilter && opts.sendTo === undefined) throw new MailboxError('EUSAGE', '--ignore-filter applies to --send-to only', { hint: 'mailbox test NAME --send-to ADDRESS --ignore-filter' });
  const { accounts, filters, problems } = await ctx.snapshot();
  const chosen = selectAccounts(accounts, names, Boolean(opts.all));
  if (opts.sendTo && !chosen.some((a) => a.type === 'smtp')) {
    throw new MailboxError('EUSAGE', '--send-to needs an SMTP account among the accounts tested', { hint: 'name an SMTP account: mailbox test NAME --send-to ADDRESS' });
  }
  if (opts.sendTo && !opts.ignoreFilter) checkOutboundFilter(chosen, filters, opts.sendTo);
  if (chosen.length === 0) {
    ctx.out.data([], () => '');
    if (!ctx.out.json) ctx.out.info(opts.all ? 'no accounts; add one with: mailbox add' : 'no active accounts to test (mailbox test --all tests inactive ones too)');
    return 0;
  }

  const spinner = !ctx.out.json && ctx.io.stderr.isTTY ? startSpinner(ctx.io.stderr, chosen.length) : undefined;
  const results: (ProbeResult | undefined)[] = chosen.map(() => undefined);
  let printed = 0;
  // Print each result as soon as it and every one before it are in: stable order, early output.
  const flush = () => {
    while (printed < results.length && results[printed]) {
      const result = results[printed]!;
      if (!ctx.out.json) {
        spinner?.clear();
        ctx.out.line(`${renderProbe(result, ctx.out.color, {}, { width: ctx.out.width, full: opts.full })}\n`);
      }
      printed++;
    }
  };
  await Promise.all(
    chosen.map(async (account, i) => {
      results[i] = withProblem(await withDestination(ctx, account, await runProbe(ctx, account, { timeoutMs, sendTo: opts.sendTo })), problems.get(account.name.toLowerCase()));
      spinner?.done();
      flush();
    }),
  );
  spinner?.stop();
  const all = results as ProbeResult[];
  ctx.out.data(all.map((r) => probeJson(r)), () => '');
  if (!ctx.out.json && all.length > 1) {
    const failed = all.filter((r) => !r.ok).length;
    ctx.out.line(failed === 0 ? `all ${all.length} accounts ok` : `${failed} of ${all.length} accounts failed`);
  }
  return all.find((r) => !r.ok)?.exitCode ?? 0;
}

export function register(command: Command, penv: ProgramEnv): void {
  command
    .argument('[names...]', 'account names (default: every active account)')
    .option('--all', 'test every account, active or not')
    .option('--timeout <duration>', 'time limit per account: 30s, 2m, or a bare number of seconds', '15s')
    .option('--send-to <address>', 'also send one real test message through each SMTP account tested')
    .option('--ignore-filter', "with --send-to: send even when the account's outbound filter blocks the address")
    .option('--full', 'on a terminal: show every value whole (the full certificate fingerprint); pipes and --json always get them')
    .addHelpText('after', EXAMPLES)
    .action(action<TestOptions>(penv, (ctx, opts, names) => testAccounts(ctx, names, opts)));
}
