// Thunderbird's autoconfig format (clientConfig 1.1), served by a domain's autoconfig host and by
// the ISPDB: the servers it lists, with the address filled into its placeholders. fast-xml-parser
// reads the XML (no DTDs, no external entities).
import type { AccountType, AuthMethod, Security } from '../../core/account.js';
import { oauthProviderOfIssuer } from '../../core/providers.js';
import { isHost } from '../../core/validate.js';
import type { ServerSpec } from './types.js';

const SECURITY: Record<string, Security> = { ssl: 'tls', tls: 'tls', starttls: 'starttls', plain: 'none' };

/** Thunderbird's authentication names, as ours; the ones mailbox cannot do (NTLM, GSSAPI, client certificates) are absent. */
const AUTH: Record<string, AuthMethod> = {
  'password-cleartext': 'password',
  'plain': 'password',
  'password-encrypted': 'password',
  'secure': 'password',
  'oauth2': 'oauth2',
  'none': 'none',
  'client-ip-address': 'none',
};

export interface ParsedConfig {
  servers: ServerSpec[];
  /** Entries skipped and why (an unknown type, a bad port, an authentication mailbox cannot do). */
  skipped: string[];
}

type Node = Record<string, unknown>;

function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return text((value as Node)['#text']);
  return String(value).trim();
}

function list(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** %EMAILADDRESS%, %EMAILLOCALPART%, %EMAILDOMAIN% filled in. */
function fill(template: string, address: string): string {
  const at = address.lastIndexOf('@');
  return template
    .replace(/%EMAILADDRESS%/g, address)
    .replace(/%EMAILLOCALPART%/g, address.slice(0, at))
    .replace(/%EMAILDOMAIN%/g, address.slice(at + 1));
}

function server(node: Node, type: AccountType, address: string, oauthProvider: ServerSpec['oauthProvider'], skipped: string[]): ServerSpec | undefined {
  const host = fill(text(node.hostname), address).toLowerCase();
  const portText = text(node.port);
  const port = Number(portText);
  const socketType = text(node.socketType).toLowerCase();
  const what = `${type} ${host || '(no hostname)'}:${portText || '?'}`;
  if (!isHost(host)) return void skipped.push(`${what}: not a host name`);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) return void skipped.push(`${what}: not a port`);
  const security = SECURITY[socketType];
  if (!security) return void skipped.push(`${what}: unknown socketType ${socketType || '(none)'}`);
  const methods = list(node.authentication).map((a) => text(a).toLowerCase());
  const auth = methods.map((m) => AUTH[m]).find((a) => a !== undefined && (type === 'smtp' || a !== 'none')) ?? (methods.length === 0 ? 'password' : undefined);
  if (!auth) return void skipped.push(`${what}: authentication ${methods.join(', ')} is not one mailbox can do`);
  const user = fill(text(node.username) || '%EMAILADDRESS%', address);
  return { type, host, port, security, auth, oauthProvider: auth === 'oauth2' ? oauthProvider : null, user };
}

/** The servers of a clientConfig document for `address`; throws when it is not one. */
export async function parseAutoconfig(xml: string, address: string): Promise<ParsedConfig> {
  const { XMLParser } = await import('fast-xml-parser');
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, processEntities: true });
  let doc: Node;
  try {
    doc = parser.parse(xml) as Node;
  } catch (err) {
    throw new Error(`not a mail configuration: ${(err as Error).message}`);
  }
  const config = doc.clientConfig as Node | undefined;
  if (!config || typeof config !== 'object') throw new Error('not a mail configuration: no <clientConfig> element');
  const issuer = text((config.oAuth2 as Node | undefined)?.issuer);
  const oauthProvider = (issuer && oauthProviderOfIssuer(issuer)) || null;
  const servers: ServerSpec[] = [];
  const skipped: string[] = [];
  for (const provider of list(config.emailProvider) as Node[]) {
    for (const node of list(provider.incomingServer) as Node[]) {
      const type = text(node['@type']).toLowerCase();
      if (type !== 'imap' && type !== 'pop3') {
        skipped.push(`incoming server of type ${type || '(none)'}: mailbox reads imap and pop3`);
        continue;
      }
      const spec = server(node, type, address, oauthProvider, skipped);
      if (spec) servers.push(spec);
    }
    for (const node of list(provider.outgoingServer) as Node[]) {
      const type = text(node['@type']).toLowerCase();
      if (type !== 'smtp') {
        skipped.push(`outgoing server of type ${type || '(none)'}: mailbox sends over smtp`);
        continue;
      }
      const spec = server(node, 'smtp', address, oauthProvider, skipped);
      if (spec) servers.push(spec);
    }
  }
  return { servers, skipped };
}
