// mailbox oauth add|list|show|remove: OAuth 2.0 profiles (a provider, an app registration, scopes),
// named by the accounts that authorize with them (add/edit --auth oauth2 --oauth PROFILE).
import type { Command } from 'commander';
import { parseEnvName, parseCommand, type SecretRef } from '../../core/account.js';
import { profilesOf } from '../../core/config.js';
import { MailboxError, shown } from '../../core/errors.js';
import { accountsUsingProfile, flowsOf, oauthEndpoints, type OAuthProfile } from '../../core/oauth.js';
import { sameName } from '../../core/rules.js';
import { addProfile, removeProfile, type ClientSecretChoice } from '../../jobs/oauth/profiles.js';
import { action, collect, type ProgramEnv } from '../action.js';
import { secretJson } from '../account-json.js';
import type { Context } from '../context.js';
import { readAll } from '../io.js';

interface AddFlags {
  provider?: string;
  tenant?: string;
  clientId?: string;
  clientSecretStdin?: boolean;
  clientSecretEnv?: string;
  clientSecretCommand?: string;
  scope?: string[];
  authUrl?: string;
  tokenUrl?: string;
  deviceUrl?: string;
  redirectPort?: string;
}

export function profileJson(p: OAuthProfile, provisioned: boolean, usedBy: string[]) {
  const e = oauthEndpoints(p);
  return {
    name: p.name,
    provider: p.provider,
    tenant: p.provider === 'microsoft' ? (p.tenant ?? 'organizations') : null,
    clientId: p.clientId,
    clientSecret: p.clientSecret ? secretJson(p.clientSecret) : null,
    scopes: e.scopes,
    appScopes: e.appScopes,
    authUrl: e.authorizationUrl ?? null,
    tokenUrl: e.tokenUrl,
    deviceUrl: e.deviceUrl ?? null,
    redirectPort: p.redirectPort ?? null,
    defaultFlow: e.defaultFlow,
    flows: flowsOf(p),
    provisioned,
    usedBy,
  };
}

async function clientSecretOf(ctx: Context, opts: AddFlags): Promise<ClientSecretChoice | undefined> {
  const given = [opts.clientSecretStdin && '--client-secret-stdin', opts.clientSecretEnv !== undefined && '--client-secret-env', opts.clientSecretCommand !== undefined && '--client-secret-command'].filter(Boolean);
  if (given.length > 1) throw new MailboxError('EUSAGE', `choose one client secret source: ${given.join(', ')}`);
  if (opts.clientSecretEnv !== undefined) return { kind: 'env', name: parseEnvName(opts.clientSecretEnv, 'client-secret-env') } satisfies SecretRef;
  if (opts.clientSecretCommand !== undefined) return { kind: 'command', command: parseCommand(opts.clientSecretCommand, 'client-secret-command') } satisfies SecretRef;
  if (!opts.clientSecretStdin) return undefined;
  const secret = ctx.interactive
    ? await ctx.prompter.password({ message: 'Client secret' })
    : (await readAll(ctx.io.stdin)).replace(/\r?\n$/, '');
  if (!secret) throw new MailboxError('EVALUE', 'invalid client secret from standard input: it is empty', { field: 'client-secret', hint: 'pipe it in: printf %s "$SECRET" | mailbox oauth add NAME ... --client-secret-stdin' });
  return { kind: 'keychain', secret };
}

export async function add(ctx: Context, name: string, opts: AddFlags): Promise<void> {
  if (opts.provider === undefined) throw new MailboxError('EUSAGE', 'missing --provider (microsoft, google or generic)');
  if (opts.clientId === undefined) throw new MailboxError('EUSAGE', 'missing --client-id (the application (client) id of the app registration)');
  const secret = await clientSecretOf(ctx, opts);
  let profile: OAuthProfile;
  try {
    profile = await addProfile(
      ctx.accounts,
      { name, provider: opts.provider, tenant: opts.tenant, clientId: opts.clientId, scopes: opts.scope, authUrl: opts.authUrl, tokenUrl: opts.tokenUrl, deviceUrl: opts.deviceUrl, redirectPort: opts.redirectPort },
      secret,
    );
  } catch (err) {
    if (err instanceof MailboxError && err.code === 'EKEYCHAIN') {
      throw new MailboxError(err.code, err.message, { hint: `${err.hint}: --client-secret-env VAR or --client-secret-command "CMD"`, cause: err });
    }
    throw err;
  }
  ctx.out.info(`added OAuth profile ${profile.name} (${profile.provider}; flows: ${flowsOf(profile).join(', ')}; default ${oauthEndpoints(profile).defaultFlow})`);
  ctx.out.data({ profile: profileJson(profile, false, []) }, () => '');
}

async function views(ctx: Context) {
  const snapshot = await ctx.snapshot();
  const provisioned = profilesOf(snapshot.provisioned);
  return snapshot.profiles.map((p) => profileJson(p, provisioned.some((q) => q === p), accountsUsingProfile(snapshot.accounts, p.name).map((a) => a.name)));
}

export async function list(ctx: Context): Promise<void> {
  const shownProfiles = await views(ctx);
  ctx.out.data(shownProfiles, () =>
    ctx.out.table(
      [
        { header: 'NAME' },
        { header: 'PROVIDER', shrink: true },
        { header: 'CLIENT ID', shrink: true },
        { header: 'SECRET', drop: 2 },
        { header: 'DEFAULT FLOW', drop: 3 },
        { header: 'USED BY', shrink: true },
        { header: 'FLAGS', drop: 1 },
      ],
      shownProfiles.map((p) => [p.name, p.provider + (p.tenant ? ` (${p.tenant})` : ''), p.clientId, p.clientSecret ? `${p.clientSecret.kind}` : 'none (public client)', p.defaultFlow, p.usedBy.join(',') || '-', p.provisioned ? 'provisioned' : '-']),
    ),
  );
  if (shownProfiles.length === 0 && !ctx.out.json) ctx.out.info('no OAuth profiles; add one with: mailbox oauth add NAME --provider microsoft --client-id ID');
}

export async function show(ctx: Context, name: string): Promise<void> {
  const found = (await views(ctx)).find((p) => sameName(p.name, name));
  if (!found) throw new MailboxError('ENOTFOUND', `no OAuth profile named ${shown(name)}`, { hint: 'mailbox oauth list shows the profiles' });
  ctx.out.data(found, () =>
    [
      ['name', found.name],
      ['provider', found.provider + (found.tenant ? ` (tenant ${found.tenant})` : '')],
      ['client id', found.clientId],
      ['client secret', found.clientSecret ? `${found.clientSecret.kind} ${found.clientSecret.ref}` : 'none (public client)'],
      ['scopes', found.scopes.join(' ') || '-'],
      ['app-only scopes', found.appScopes.join(' ') || '-'],
      ['authorization URL', found.authUrl ?? '-'],
      ['token URL', found.tokenUrl],
      ['device URL', found.deviceUrl ?? '-'],
      ['redirect port', found.redirectPort === null ? 'any free port' : String(found.redirectPort)],
      ['flows', `${found.flows.join(', ') || 'none'} (default ${found.defaultFlow})`],
      ['used by', found.usedBy.join(', ') || '-'],
      ['provisioned', found.provisioned ? 'yes' : 'no'],
    ]
      .map(([k, v]) => `${k!.padEnd(18)} ${v}`)
      .join('\n'),
  );
}

export async function remove(ctx: Context, name: string): Promise<void> {
  const outcome = await removeProfile(ctx.accounts, name);
  ctx.out.info(`removed OAuth profile ${outcome.removed}`);
  if (outcome.secretRemoved === false) ctx.out.warn(`the keychain entry of its client secret (mailbox-oauth-client/${outcome.removed.toLowerCase()}) could not be removed: delete it with your keychain tool`);
  ctx.out.data(outcome, () => '');
}

export function register(oauth: Command, penv: ProgramEnv): void {
  oauth.addHelpText(
    'after',
    `
A profile is an identity provider and an app registration; accounts name it with
mailbox add/edit --auth oauth2 --oauth PROFILE, then mailbox authorize ACCOUNT gets the tokens.

Examples:
  $ mailbox oauth add m365 --provider microsoft --tenant contoso.onmicrosoft.com --client-id 00000000-0000-0000-0000-000000000000
  $ mailbox oauth add gmail --provider google --client-id ID.apps.googleusercontent.com --client-secret-env GOOGLE_CLIENT_SECRET
  $ mailbox oauth list --json`,
  );
  oauth
    .command('add')
    .description('add a profile (presets fill in the endpoints and scopes)')
    .argument('<name>', 'profile name')
    .option('--provider <provider>', 'microsoft, google or generic')
    .option('--tenant <tenant>', 'microsoft: tenant id or domain (default organizations; consumers for Outlook.com accounts)')
    .option('--client-id <id>', 'the application (client) id of the app registration')
    .option('--client-secret-stdin', 'read the client secret from standard input and keep it in the OS keychain')
    .option('--client-secret-env <var>', 'read the client secret from this environment variable at use time')
    .option('--client-secret-command <cmd>', 'run this command at use time; its output is the client secret')
    .option('--scope <scope>', 'a scope instead of the preset ones (repeat for several)', collect)
    .option('--auth-url <url>', 'the authorization endpoint (browser flow)')
    .option('--token-url <url>', 'the token endpoint')
    .option('--device-url <url>', 'the device authorization endpoint (device flow)')
    .option('--redirect-port <port>', 'browser flow: the loopback port of the redirect (default: any free port)')
    .addHelpText(
      'after',
      '\nA client secret is optional: public clients (device and browser flows) send none; app-only access\n(--flow client-credentials) needs one.\n\nExamples:\n  $ mailbox oauth add m365 --provider microsoft --client-id ID\n  $ printf %s "$SECRET" | mailbox oauth add m365-app --provider microsoft --tenant TENANT-ID --client-id ID --client-secret-stdin\n  $ mailbox oauth add corp --provider generic --client-id mailbox --token-url https://sso.example.com/token --device-url https://sso.example.com/device',
    )
    .action(action<AddFlags>(penv, (ctx, opts, [name]) => add(ctx, name!, opts)));
  oauth
    .command('list')
    .description('list profiles and the accounts that use them')
    .addHelpText('after', '\nExamples:\n  $ mailbox oauth list\n  $ mailbox oauth list --json')
    .action(action(penv, (ctx) => list(ctx)));
  oauth
    .command('show')
    .description('show one profile, presets filled in')
    .argument('<name>', 'profile name')
    .addHelpText('after', '\nExamples:\n  $ mailbox oauth show m365 --json')
    .action(action(penv, (ctx, _o, [name]) => show(ctx, name!)));
  oauth
    .command('remove')
    .description('remove a profile (refused while an account uses it)')
    .argument('<name>', 'profile name')
    .addHelpText('after', '\nExamples:\n  $ mailbox oauth remove m365')
    .action(action(penv, (ctx, _o, [name]) => remove(ctx, name!)));
}
