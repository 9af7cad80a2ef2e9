// The big mail providers as data: which domains and MX hosts are theirs, their servers per type,
// and how one logs in (OAuth 2.0 with the provider named here, read by the OAuth flows, or a
// password, usually an app password). `mailbox discover` offers these first; the values follow
// the providers' published settings (and Thunderbird's ISPDB for the same providers).
import type { AccountType, AuthMethod, Security } from './account.js';

/** The OAuth 2.0 identity providers mailbox knows. */
export type OAuthProviderId = 'microsoft' | 'google';

/** What the login name is: the whole address, or the part before the @. */
export type UserForm = 'address' | 'localpart';

export interface PresetServer {
  type: AccountType;
  host: string;
  port: number;
  security: Security;
  /** Default: the whole address. */
  user?: UserForm;
}

export interface Provider {
  id: string;
  name: string;
  /** Address domains; "*.example.com" matches its subdomains. */
  domains: readonly string[];
  /** MX host suffixes: an MX host equal to one or under it is this provider's. */
  mx: readonly string[];
  auth: Extract<AuthMethod, 'password' | 'oauth2'>;
  oauthProvider?: OAuthProviderId;
  servers: readonly PresetServer[];
  /** Said beside the candidates (app passwords, an option to switch on). */
  note?: string;
}

const APP_PASSWORD = 'log in with an app password (made in the account settings), not the web password';

const imap = (host: string, user?: UserForm): PresetServer => ({ type: 'imap', host, port: 993, security: 'tls', ...(user ? { user } : {}) });
const pop3 = (host: string): PresetServer => ({ type: 'pop3', host, port: 995, security: 'tls' });
const smtps = (host: string): PresetServer => ({ type: 'smtp', host, port: 465, security: 'tls' });
const submission = (host: string): PresetServer => ({ type: 'smtp', host, port: 587, security: 'starttls' });

export const PROVIDERS: readonly Provider[] = [
  {
    id: 'microsoft365',
    name: 'Microsoft 365 (Exchange Online)',
    domains: ['*.onmicrosoft.com', 'office365.com'],
    mx: ['mail.protection.outlook.com'],
    auth: 'oauth2',
    oauthProvider: 'microsoft',
    servers: [imap('outlook.office365.com'), pop3('outlook.office365.com'), submission('smtp.office365.com')],
    note: 'Exchange Online accepts only OAuth 2.0 for IMAP and POP3; SMTP AUTH must be enabled for the mailbox',
  },
  {
    id: 'outlook',
    name: 'Outlook.com (Hotmail, Live)',
    domains: ['outlook.com', 'hotmail.com', 'live.com', 'msn.com', 'passport.com', 'windowslive.com', 'outlook.de', 'outlook.fr', 'outlook.es', 'outlook.it', 'hotmail.co.uk', 'hotmail.de', 'hotmail.fr', 'hotmail.it', 'hotmail.es', 'live.co.uk', 'live.de', 'live.fr', 'live.nl'],
    mx: ['olc.protection.outlook.com'],
    auth: 'oauth2',
    oauthProvider: 'microsoft',
    servers: [imap('outlook.office365.com'), pop3('outlook.office365.com'), submission('smtp-mail.outlook.com')],
  },
  {
    id: 'google',
    name: 'Gmail / Google Workspace',
    domains: ['gmail.com', 'googlemail.com'],
    mx: ['google.com', 'googlemail.com'],
    auth: 'oauth2',
    oauthProvider: 'google',
    servers: [imap('imap.gmail.com'), pop3('pop.gmail.com'), smtps('smtp.gmail.com'), submission('smtp.gmail.com')],
    note: 'OAuth 2.0, or an app password with 2-step verification on; POP3 must be enabled in the Gmail settings',
  },
  {
    id: 'yahoo',
    name: 'Yahoo Mail',
    domains: ['yahoo.com', 'ymail.com', 'rocketmail.com', 'yahoo.co.uk', 'yahoo.de', 'yahoo.fr', 'yahoo.es', 'yahoo.it', 'yahoo.ca', 'yahoo.com.au'],
    mx: ['yahoodns.net'],
    auth: 'password',
    servers: [imap('imap.mail.yahoo.com'), pop3('pop.mail.yahoo.com'), smtps('smtp.mail.yahoo.com')],
    note: APP_PASSWORD,
  },
  {
    id: 'aol',
    name: 'AOL Mail',
    domains: ['aol.com', 'aim.com'],
    mx: [],
    auth: 'password',
    servers: [imap('imap.aol.com'), pop3('pop.aol.com'), smtps('smtp.aol.com')],
    note: APP_PASSWORD,
  },
  {
    id: 'icloud',
    name: 'iCloud Mail',
    domains: ['icloud.com', 'me.com', 'mac.com'],
    mx: ['mail.icloud.com'],
    auth: 'password',
    servers: [imap('imap.mail.me.com', 'localpart'), submission('smtp.mail.me.com')],
    note: `${APP_PASSWORD}; iCloud offers no POP3`,
  },
  {
    id: 'fastmail',
    name: 'Fastmail',
    domains: ['fastmail.com', 'fastmail.fm', 'messagingengine.com'],
    mx: ['messagingengine.com'],
    auth: 'password',
    servers: [imap('imap.fastmail.com'), pop3('pop.fastmail.com'), smtps('smtp.fastmail.com')],
    note: APP_PASSWORD,
  },
  {
    id: 'gmx.net',
    name: 'GMX (Germany, Austria, Switzerland)',
    domains: ['gmx.net', 'gmx.de', 'gmx.at', 'gmx.ch'],
    mx: ['gmx.net'],
    auth: 'password',
    servers: [imap('imap.gmx.net'), pop3('pop.gmx.net'), smtps('mail.gmx.net'), submission('mail.gmx.net')],
    note: 'POP3 and IMAP access must be switched on in the GMX settings',
  },
  {
    id: 'gmx.com',
    name: 'GMX (international)',
    domains: ['gmx.com', 'gmx.us', 'gmx.co.uk', 'gmx.fr', 'gmx.es'],
    mx: ['gmx.com'],
    auth: 'password',
    servers: [imap('imap.gmx.com'), pop3('pop.gmx.com'), smtps('mail.gmx.com'), submission('mail.gmx.com')],
  },
  {
    id: 'web.de',
    name: 'WEB.DE',
    domains: ['web.de'],
    mx: ['web.de'],
    auth: 'password',
    servers: [imap('imap.web.de'), pop3('pop3.web.de'), submission('smtp.web.de')],
    note: 'POP3 and IMAP access must be switched on in the WEB.DE settings',
  },
  {
    id: 'zoho',
    name: 'Zoho Mail',
    domains: ['zoho.com', 'zohomail.com'],
    mx: ['zoho.com'],
    auth: 'password',
    servers: [imap('imap.zoho.com'), pop3('pop.zoho.com'), smtps('smtp.zoho.com')],
  },
  {
    id: 'zoho.eu',
    name: 'Zoho Mail (EU)',
    domains: ['zoho.eu', 'zohomail.eu'],
    mx: ['zoho.eu'],
    auth: 'password',
    servers: [imap('imap.zoho.eu'), pop3('pop.zoho.eu'), smtps('smtp.zoho.eu')],
  },
  {
    id: 'mailbox.org',
    name: 'mailbox.org',
    domains: ['mailbox.org'],
    mx: ['mailbox.org'],
    auth: 'password',
    servers: [imap('imap.mailbox.org'), pop3('pop3.mailbox.org'), smtps('smtp.mailbox.org')],
  },
  {
    id: 'posteo',
    name: 'Posteo',
    domains: ['posteo.de', 'posteo.net', 'posteo.at', 'posteo.ch', 'posteo.eu', 'posteo.org'],
    mx: ['posteo.de'],
    auth: 'password',
    servers: [imap('posteo.de'), pop3('posteo.de'), smtps('posteo.de')],
  },
];

/** `name` is `suffix` or a name under it (case-insensitive, a trailing dot ignored). */
export function isUnder(name: string, suffix: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const s = suffix.toLowerCase();
  return n === s || n.endsWith(`.${s}`);
}

function domainMatches(domain: string, pattern: string): boolean {
  if (pattern.startsWith('*.')) return isUnder(domain, pattern.slice(2)) && domain.toLowerCase() !== pattern.slice(2);
  return domain.toLowerCase() === pattern;
}

/** The provider whose address domain this is. */
export function providerOfDomain(domain: string): Provider | undefined {
  return PROVIDERS.find((p) => p.domains.some((d) => domainMatches(domain, d)));
}

/** The provider that runs this MX host. */
export function providerOfMx(mxHost: string): Provider | undefined {
  return PROVIDERS.find((p) => p.mx.some((suffix) => isUnder(mxHost, suffix)));
}

/** The OAuth provider an autoconfig <oAuth2><issuer> names, when mailbox knows it. */
export function oauthProviderOfIssuer(issuer: string): OAuthProviderId | undefined {
  if (isUnder(issuer, 'login.microsoftonline.com') || isUnder(issuer, 'login.live.com')) return 'microsoft';
  if (isUnder(issuer, 'accounts.google.com')) return 'google';
  return undefined;
}

/** The login name of `address` in a form. */
export function userOf(address: string, form: UserForm = 'address'): string {
  return form === 'localpart' ? address.slice(0, address.lastIndexOf('@')) : address;
}
