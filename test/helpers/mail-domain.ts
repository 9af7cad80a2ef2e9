// A small mail world on loopback for discovery: Dovecot and the SMTP server presenting certificates
// for the test domains (signed by the harness CA), a DNS server that knows those domains, an ISPDB
// over https, and, where this process may bind port 443 (root), autoconfig hosts on loopback
// addresses of their own. `env()` points the `mailbox` executable at all of it. On request Dovecot
// also speaks LMTP, and an OAuth 2.0 server answers as auth.example.test, Dovecot taking its tokens.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { makeCerts, startDovecot, startOAuthServer, startSmtp, type Dovecot, type OAuthServer, type SmtpServer, type TestCerts } from '../harness/index.js';
import { startDnsServer, type DnsRecord, type DnsServer } from '../harness/dns-server.js';
import { issueCerts } from '../harness/issue-cert.js';
import { canBindPrivilegedPorts, startOnOwnLoopback, startWebServer, type WebServer } from '../harness/web-server.js';

/** The domains whose names (the domain and one label under it) the servers' certificate covers. */
export const TEST_DOMAINS = ['example.test', 'autoconfig.test', 'srv.test', 'ispdb.test', 'mx.test', 'hoster.test', 'guess.test', 'mixed.test', 'hang.test', 'hang2.test', 'wrongcert.test', 'none.test', 'httponly.test', 'redirect.test'];

export const ROOT = canBindPrivilegedPorts();
export const NEEDS_ROOT = 'needs to listen on port 443/993 of a loopback address (root, or ip_unprivileged_port_start <= 443)';

/** The OAuth 2.0 client the world's OAuth server knows (public: no secret). */
export const OAUTH_CLIENT = 'mailbox-public';

export interface MailWorldOptions {
  /** Dovecot's LMTP service too (dovecot.lmtpPort). */
  lmtp?: boolean;
  /** An OAuth 2.0 server (world.oauth) whose certificate names auth.example.test; Dovecot checks its tokens. */
  oauth?: boolean;
}

export interface MailWorld {
  dns: DnsServer;
  dovecot: Dovecot;
  smtp: SmtpServer;
  /** The harness CA with a leaf for every test domain. */
  certs: TestCerts;
  /** The ISPDB: https on 127.0.0.1, pages under /v1.1/DOMAIN. */
  ispdb: WebServer;
  ispdbUrl: string;
  /** With `oauth`: the OAuth server, on 127.0.0.1 (reach it as auth.example.test through the DNS server). */
  oauth?: OAuthServer;
  /** Environment for `mailbox`: MAILBOX_DNS_SERVERS, MAILBOX_ISPDB_URL, NODE_EXTRA_CA_CERTS. */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** An https server on port 443 of a loopback address of its own (root only). */
  autoconfigHost(tls?: { certFile: string; keyFile: string }): Promise<WebServer>;
  /** Port `port` of a loopback address of its own, forwarded to 127.0.0.1:`target` (root only). */
  forward(host: string, port: number, target: number): Promise<void>;
  /** Sets DNS records of a zone: name -> records. */
  zone(records: Record<string, DnsRecord[] | 'hang'>): void;
  stop(): Promise<void>;
}

const a = (address: string): DnsRecord[] => [{ type: 'A', address }];
export { a };

export async function startMailWorld(o: MailWorldOptions = {}): Promise<MailWorld> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mbx-world-'));
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const ca = await makeCerts(path.join(dir, 'ca'));
    const certs = await issueCerts(ca, TEST_DOMAINS.flatMap((d) => [d, `*.${d}`]), path.join(dir, 'leaf'));
    let oauth: OAuthServer | undefined;
    if (o.oauth) {
      // Dovecot's auth process (not root) reads the CA to check the introspection endpoint, which it reaches at 127.0.0.1.
      chmodSync(dir, 0o755);
      oauth = await startOAuthServer({ certs: await issueCerts(ca, ['auth.example.test', 'localhost', '127.0.0.1'], path.join(dir, 'auth')), clients: [{ id: OAUTH_CLIENT }] });
      stops.push(() => oauth!.stop());
    }
    const oauth2 = oauth ? { introspectUrl: oauth.introspectUrl, caFile: ca.caFile } : undefined;
    const [dns, dovecot, smtp, ispdb] = await Promise.all([
      startDnsServer(),
      startDovecot({ certs, ...(o.lmtp ? { lmtp: true } : {}), ...(oauth2 ? { oauth2 } : {}) }),
      startSmtp({ certs }),
      startWebServer({ tls: { certFile: ca.chainFile, keyFile: ca.keyFile } }),
    ]);
    stops.push(() => dns.stop(), () => dovecot.stop(), () => smtp.stop(), () => ispdb.stop());
    const servers: net.Server[] = [];
    const world: MailWorld = {
      dns,
      dovecot,
      smtp,
      certs,
      ispdb,
      ispdbUrl: `${ispdb.origin}/v1.1/`,
      ...(oauth ? { oauth } : {}),
      env: (extra = {}) => ({ MAILBOX_DNS_SERVERS: dns.address, MAILBOX_ISPDB_URL: `${ispdb.origin}/v1.1/`, NODE_EXTRA_CA_CERTS: ca.caFile, ...extra }),
      async autoconfigHost(tls = { certFile: certs.chainFile, keyFile: certs.keyFile }) {
        const web = await startOnOwnLoopback((host) => startWebServer({ tls, host, port: 443 }));
        stops.push(() => web.stop());
        return web;
      },
      async forward(host, port, target) {
        const server = net.createServer((client) => {
          const upstream = net.connect(target, '127.0.0.1');
          client.pipe(upstream).pipe(client);
          client.on('error', () => upstream.destroy());
          upstream.on('error', () => client.destroy());
        });
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, host, () => resolve());
        });
        servers.push(server);
      },
      zone(records) {
        for (const [name, list] of Object.entries(records)) dns.set(name, list);
      },
      async stop() {
        for (const s of servers) s.close();
        await Promise.allSettled(stops.map((stop) => stop()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return world;
  } catch (err) {
    await Promise.allSettled(stops.map((stop) => stop()));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** An autoconfig document (clientConfig 1.1) listing `servers`. */
export function clientConfig(domain: string, servers: { type: 'imap' | 'pop3' | 'smtp'; host: string; port: number; socketType: 'SSL' | 'STARTTLS' | 'plain'; auth?: string; user?: string }[], oauthIssuer?: string): string {
  const entry = (s: (typeof servers)[number]) => {
    const tag = s.type === 'smtp' ? 'outgoingServer' : 'incomingServer';
    return `    <${tag} type="${s.type}">
      <hostname>${s.host}</hostname>
      <port>${s.port}</port>
      <socketType>${s.socketType}</socketType>
      <username>${s.user ?? '%EMAILADDRESS%'}</username>
      <authentication>${s.auth ?? 'password-cleartext'}</authentication>
    </${tag}>`;
  };
  return `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="${domain}">
    <domain>${domain}</domain>
    <displayName>${domain} mail</displayName>
${servers.map(entry).join('\n')}
  </emailProvider>${oauthIssuer ? `\n  <oAuth2><issuer>${oauthIssuer}</issuer></oAuth2>` : ''}
</clientConfig>
`;
}
