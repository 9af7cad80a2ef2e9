// mailbox discover ADDRESS: the servers of an address from every source the mail world publishes,
// each verified against the real server (never a login), best first, with where each came from.
import type { Command } from 'commander';
import { ACCOUNT_TYPES, type AccountType } from '../../core/account.js';
import { ExitCode } from '../../core/errors.js';
import { oneOf, parseDuration } from '../../core/validate.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';
import { discoveryJson, parseDiscoverAddress, renderDiscovery, runDiscovery } from '../discovery-view.js';

interface DiscoverOptions {
  type?: string;
  verify: boolean;
  timeout: string;
}

const EXAMPLES = `
Examples:
  $ mailbox discover me@example.com                   # incoming and outgoing, verified
  $ mailbox discover me@example.com --type smtp --json
  $ mailbox discover me@example.com --no-verify --timeout 5
  $ mailbox add --discover me@example.com --type imap --name work --password-stdin

Sources, raced: the built-in presets of the big providers, the domain's autoconfig (https), the
ISPDB ($MAILBOX_ISPDB_URL), the MX records, the SRV records (RFC 6186/8314), then the usual host
names. Each server is checked (connect, TLS, capabilities; never a login). $MAILBOX_DNS_SERVERS
(address[:port],...) sends every DNS query to other name servers.
Exit code: 0 a verified server for incoming and outgoing (or the --type asked for), 69 nothing
found for one of them, 76 found but none verified.`;

export async function discoverServers(ctx: Context, address: string, opts: DiscoverOptions): Promise<number> {
  const target = parseDiscoverAddress(address);
  const types: AccountType[] = opts.type === undefined ? [...ACCOUNT_TYPES] : [oneOf(opts.type, 'type', ACCOUNT_TYPES)];
  const timeoutMs = parseDuration(opts.timeout, 'timeout');
  const result = await runDiscovery(ctx, target, { types, verify: opts.verify, timeoutMs });
  ctx.out.data(discoveryJson(result), () => renderDiscovery(result, ctx.out.color));
  const { discoveryOutcome } = await import('../../protocols/discovery/index.js');
  const outcome = discoveryOutcome(result, types);
  if (outcome === 'verified') return ExitCode.ok;
  const what = opts.type ? `${opts.type} server` : 'incoming and outgoing server';
  // Under --json the data says it all; stderr stays free of text lines.
  const say = (text: string) => !ctx.out.json && ctx.out.info(text);
  if (outcome === 'none') {
    say(`mailbox: no ${what} found for ${target}${result.candidates.length ? ' (only for some of them)' : ''}`);
    return ExitCode.unavailable;
  }
  say(`mailbox: servers found for ${target}, but no ${what} could be verified; the reasons are above`);
  return ExitCode.protocol;
}

export function register(command: Command, penv: ProgramEnv): void {
  command
    .argument('<address>', 'the email address whose servers to find')
    .option('--type <type>', `only this type: ${ACCOUNT_TYPES.join(', ')}`)
    .option('--no-verify', 'do not connect to the servers found (no connect, TLS or capability check)')
    .option('--timeout <seconds>', 'time limit for the whole discovery', '10')
    .addHelpText('after', EXAMPLES)
    .action(action<DiscoverOptions>(penv, (ctx, opts, args) => discoverServers(ctx, args[0]!, opts)));
}
