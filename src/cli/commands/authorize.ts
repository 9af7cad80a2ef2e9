// mailbox authorize ACCOUNT: gets an OAuth 2.0 account's tokens with the device, browser or client
// credentials flow, keeps them in its token store, and logs in once with them (the login stage of
// mailbox test).
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { MailboxError } from '../../core/errors.js';
import { oauthEndpoints, parseFlow, parseTokenStore, profileOf, type TokenStoreKind } from '../../core/oauth.js';
import { requireAccount, sameName } from '../../core/rules.js';
import { DURATION_RANGE, parseDuration } from '../../core/validate.js';
import { authorize } from '../../jobs/oauth/authorize.js';
import { action, type ProgramEnv } from '../action.js';
import { canOpenBrowser, openBrowser } from '../browser.js';
import type { Context } from '../context.js';
import { dnsOf } from '../network.js';
import { tokenStoresOf } from '../oauth-wiring.js';
import { probeJson, renderProbe, runProbe } from '../probe-view.js';

interface AuthorizeFlags {
  flow?: string;
  browser?: boolean;
  timeout?: string;
  tokenStore?: string;
}

function minutes(seconds: number): string {
  return seconds >= 120 ? `${Math.round(seconds / 60)} minutes` : `${seconds} seconds`;
}

/** Lines typed on the terminal (or piped in): where a redirect URL may be pasted. Closed when done. */
function terminalLines(ctx: Context): { lines: AsyncIterable<string>; close: () => void } {
  const rl = createInterface({ input: ctx.io.stdin, terminal: false });
  return { lines: rl, close: () => rl.close() };
}

export async function authorizeAccount(ctx: Context, name: string, opts: AuthorizeFlags): Promise<number> {
  const timeoutMs = opts.timeout === undefined ? undefined : parseDuration(opts.timeout, 'timeout', DURATION_RANGE);
  const chosenStore: TokenStoreKind | undefined = opts.tokenStore === undefined ? undefined : parseTokenStore(opts.tokenStore);
  const snapshot = await ctx.snapshot();
  const found = requireAccount(snapshot.accounts, name);
  if (found.auth !== 'oauth2' || !found.oauth) {
    throw new MailboxError('EVALUE', `account ${found.name} does not authorize with an OAuth 2.0 profile (auth ${found.auth}${found.auth === 'oauth2' ? ', a token from its secret source' : ''})`, {
      field: 'oauth',
      account: found.name,
      hint: 'give it a profile first (mailbox oauth list shows them)',
      fixes: [{ field: 'auth', value: 'oauth2' }, { field: 'oauth', value: 'PROFILE' }],
    });
  }
  if (chosenStore && found.provisioned && chosenStore !== (found.tokenStore ?? 'keychain')) {
    throw new MailboxError('EPROVISIONED', `account ${found.name} is provisioned: its token store is the administrator's choice (${found.tokenStore ?? 'keychain'})`);
  }
  const account = { ...found, ...(chosenStore ? { tokenStore: chosenStore } : {}) };
  const profile = profileOf(snapshot.profiles, account)!;
  const flow = opts.flow === undefined ? oauthEndpoints(profile).defaultFlow : parseFlow(opts.flow);
  const stores = tokenStoresOf(ctx);
  const store = stores.of(account.tokenStore);
  const paste = flow === 'browser' ? terminalLines(ctx) : undefined;
  let outcome: Awaited<ReturnType<typeof authorize>>;
  try {
    outcome = await authorize({
      account,
      profile,
      flow,
      store,
      locks: stores.locks,
      secrets: ctx.secrets,
      clock: ctx.now,
      timeoutMs: timeoutMs ?? (flow === 'browser' ? 600_000 : undefined),
      pasted: paste?.lines,
      lookup: dnsOf(ctx.env).lookup,
      onDevicePrompt: (p) => {
        if (ctx.out.json) ctx.io.stdout.write(`${JSON.stringify({ verificationUri: p.verificationUri, userCode: p.userCode, expiresIn: p.expiresIn })}\n`);
        ctx.out.info(`To authorize ${account.name}, open ${p.verificationUri} in a browser (on any device) and enter the code ${p.userCode}`);
        ctx.out.info(`(the code expires in ${minutes(p.expiresIn)}; waiting for the sign-in to finish)`);
      },
      onBrowserUrl: (url, redirectUri) => {
        const open = opts.browser !== false && canOpenBrowser(ctx.env);
        ctx.out.info(`To authorize ${account.name}, ${open ? 'sign in in the browser that opens now, or open' : 'open'} this URL in a browser:\n\n  ${url}\n`);
        ctx.out.info(`Waiting for the redirect to ${redirectUri}. A browser on another machine ends on a page that cannot load: paste the address it shows here and press Enter.`);
        if (open) openBrowser(url);
      },
    });
  } finally {
    paste?.close();
  }
  if (chosenStore && chosenStore !== (found.tokenStore ?? 'keychain')) {
    // Kept as the account's choice: run and test then read the tokens from there.
    await ctx.accounts.config.update((config) => ({
      config: { ...config, accounts: config.accounts.map((a) => (sameName(a.name, account.name) ? { ...a, ...(chosenStore === 'file' ? { tokenStore: 'file' as const } : { tokenStore: undefined }) } : a)) },
      result: undefined,
    }));
    ctx.out.info(`account ${account.name} keeps its tokens in the ${chosenStore === 'file' ? 'token file' : 'keychain'} from now on`);
  }
  const { tokens } = outcome;
  const where =
    store.kind === 'file'
      ? `a token file under ${ctx.paths.stateDir}${ctx.env.MAILBOX_TOKEN_KEY ? ' (encrypted)' : ' (mode 0600, not encrypted: set MAILBOX_TOKEN_KEY to encrypt it)'}`
      : store.kind === 'database'
        ? 'the database (encrypted with MAILBOX_TOKEN_KEY, shared by every machine that uses it)'
        : 'the keychain';
  ctx.out.info(`authorized ${account.name} with the ${flow} flow; tokens kept in ${where}`);
  if (flow !== 'client-credentials' && !tokens.refreshToken) {
    ctx.out.warn(`the provider gave no refresh token: ${account.name} works until ${tokens.expiresAt ? new Date(tokens.expiresAt).toISOString() : 'its access token expires'}, then needs authorizing again`);
  }
  // Ends by logging in once with the new token, as the login stage of mailbox test.
  ctx.out.info(`logging in to ${account.host}:${account.port} once to check the token (the login stage of mailbox test)`);
  const login = await runProbe(ctx, account, { stopBefore: 'probe' });
  const summary = {
    account: account.name,
    flow,
    tokenStore: store.kind,
    expiresAt: tokens.expiresAt ? new Date(tokens.expiresAt).toISOString() : null,
    scopes: tokens.scope ? tokens.scope.split(' ') : null,
    refreshToken: Boolean(tokens.refreshToken),
    login: probeJson(login),
  };
  if (ctx.out.json) ctx.io.stdout.write(`${JSON.stringify(summary)}\n`);
  else ctx.out.info(renderProbe(login, ctx.out.color, {}, { width: ctx.out.width }));
  if (!login.ok) ctx.out.info(`the tokens are kept; fix what the login says, then check with: mailbox test ${account.name}`);
  return login.exitCode;
}

export function register(command: Command, penv: ProgramEnv): void {
  command
    .argument('<account>', 'the account (auth oauth2 with an OAuth profile)')
    .option('--flow <flow>', 'device, browser or client-credentials (default: the profile\'s: device for microsoft, browser for google)')
    .option('--no-browser', 'browser flow: print the URL only, never open a browser')
    .option('--timeout <seconds>', 'give up after this long (device: default until the code expires; browser: 10m)')
    .option('--token-store <store>', 'keep the tokens in keychain or file (kept as the account\'s choice)')
    .addHelpText(
      'after',
      `
The refresh token and the access token go to the account's token store (the OS keychain, or with
--token-store file a 0600 file under the state folder, encrypted when MAILBOX_TOKEN_KEY is set); never
to config.json, a log or any output. Ends by logging in once with the new token.

Exit codes: 0 authorized and logged in; 77 denied, the code expired, or the login refused; 75 --timeout
passed; 78 no keychain answers (use --token-store file) or the client secret is missing.

Examples:
  $ mailbox authorize work                       # the profile's default flow
  $ mailbox authorize gmail --flow browser --no-browser
  $ mailbox authorize shared-box --flow client-credentials
  $ mailbox authorize work --token-store file    # headless server without a keychain`,
    )
    .action(action<AuthorizeFlags>(penv, (ctx, opts, [name]) => authorizeAccount(ctx, name!, opts)));
}

/**
 * After add or edit saved an account with an OAuth profile: on a terminal, offers to authorize it
 * right away (the wizard's last step); otherwise says what to run next.
 */
export async function offerAuthorization(ctx: Context, account: string, ask: boolean): Promise<number> {
  if (!ask || !ctx.interactive) {
    ctx.out.info(`next: mailbox authorize ${account}`);
    return 0;
  }
  if (!(await ctx.prompter.confirm({ message: `Authorize ${account} now (sign in with the provider)?`, default: true }))) {
    ctx.out.info(`authorize it later with: mailbox authorize ${account}`);
    return 0;
  }
  return authorizeAccount(ctx, account, {});
}
