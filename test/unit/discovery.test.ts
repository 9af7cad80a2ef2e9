// The pure parts of discovery: the autoconfig format, the provider table, MAILBOX_DNS_SERVERS, and
// the ranking rules. The sources and the verification run against real servers in test/e2e/discover.
import { describe, expect, it } from 'vitest';
import { oauthProviderOfIssuer, providerOfDomain, providerOfMx } from '../../src/core/providers.js';
import { parseAutoconfig } from '../../src/protocols/discovery/autoconfig-xml.js';
import { rankCandidates } from '../../src/protocols/discovery/rank.js';
import type { Candidate } from '../../src/protocols/discovery/types.js';
import { parseDnsServers } from '../../src/protocols/net/dns.js';

const XML = `<?xml version="1.0"?>
<clientConfig version="1.1">
  <emailProvider id="example.com">
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname><port>993</port><socketType>SSL</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>OAuth2</authentication><authentication>password-cleartext</authentication>
    </incomingServer>
    <incomingServer type="pop3">
      <hostname>pop.example.com</hostname><port>110</port><socketType>STARTTLS</socketType>
      <username>%EMAILADDRESS%</username><authentication>NTLM</authentication>
    </incomingServer>
    <incomingServer type="exchange"><hostname>ews.example.com</hostname></incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.com</hostname><port>25</port><socketType>plain</socketType>
      <authentication>client-IP-address</authentication>
    </outgoingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.com</hostname><port>99999</port><socketType>SSL</socketType>
    </outgoingServer>
  </emailProvider>
  <oAuth2><issuer>login.microsoftonline.com</issuer></oAuth2>
</clientConfig>`;

describe('autoconfig documents', () => {
  it('fills the placeholders, maps socket types and authentication, names what it skips', async () => {
    const { servers, skipped } = await parseAutoconfig(XML, 'me@example.com');
    expect(servers).toEqual([
      { type: 'imap', host: 'imap.example.com', port: 993, security: 'tls', auth: 'oauth2', oauthProvider: 'microsoft', user: 'me' },
      { type: 'smtp', host: 'smtp.example.com', port: 25, security: 'none', auth: 'none', oauthProvider: null, user: 'me@example.com' },
    ]);
    expect(skipped).toEqual([
      'pop3 pop.example.com:110: authentication ntlm is not one mailbox can do',
      'incoming server of type exchange: mailbox reads imap and pop3',
      'smtp smtp.example.com:99999: not a port',
    ]);
  });

  it('refuses what is not a mail configuration', async () => {
    await expect(parseAutoconfig('<html><body>hello</body></html>', 'me@example.com')).rejects.toThrow('no <clientConfig> element');
  });
});

describe('providers', () => {
  it('by address domain (subdomains only where the table says so), by MX host, by OAuth issuer', () => {
    expect(providerOfDomain('gmail.com')?.id).toBe('google');
    expect(providerOfDomain('Contoso.onmicrosoft.com')?.oauthProvider).toBe('microsoft');
    expect(providerOfDomain('onmicrosoft.com')).toBeUndefined();
    expect(providerOfDomain('sub.gmail.com')).toBeUndefined();
    expect(providerOfMx('alt1.aspmx.l.google.com.')?.id).toBe('google');
    expect(providerOfMx('contoso-com.mail.protection.outlook.com')?.id).toBe('microsoft365');
    expect(providerOfMx('evilgoogle.com')).toBeUndefined();
    expect(oauthProviderOfIssuer('accounts.google.com')).toBe('google');
    expect(oauthProviderOfIssuer('login.example.com')).toBeUndefined();
  });
});

describe('MAILBOX_DNS_SERVERS', () => {
  it('takes addresses with optional ports, IPv6 too, and refuses names and bad ports', () => {
    expect(parseDnsServers('127.0.0.1:5353, 10.0.0.53')).toEqual(['127.0.0.1:5353', '10.0.0.53:53']);
    expect(parseDnsServers('[fd00::53]:5300,::1')).toEqual(['[fd00::53]:5300', '[::1]:53']);
    expect(() => parseDnsServers('dns.example.com')).toThrow('invalid MAILBOX_DNS_SERVERS "dns.example.com"');
    expect(() => parseDnsServers('10.0.0.1:0')).toThrow('invalid MAILBOX_DNS_SERVERS "10.0.0.1:0"');
    expect(() => parseDnsServers(' , ')).toThrow(/expected a comma-separated list/);
  });
});

function candidate(over: Partial<Candidate>): Candidate {
  return { type: 'imap', host: 'mail.example.com', port: 993, security: 'tls', auth: 'password', oauthProvider: null, user: 'me@example.com', source: 'srv', origin: '', warnings: [], confirmedBy: [], verified: true, stages: [], error: null, ...over };
}

describe('ranking', () => {
  it('verified first, IMAP before POP3, implicit TLS before STARTTLS, then the better source; incoming before outgoing', () => {
    const ranked = rankCandidates(
      [
        candidate({ type: 'smtp', port: 587, security: 'starttls' }),
        candidate({ type: 'pop3', port: 995 }),
        candidate({ port: 143, security: 'starttls', source: 'preset' }),
        candidate({ host: 'b', source: 'guess' }),
        candidate({ host: 'a', source: 'ispdb' }),
        candidate({ host: 'broken', source: 'preset', verified: false }),
        candidate({ type: 'smtp', port: 465 }),
      ],
      true,
    );
    expect(ranked.map((c) => `${c.type} ${c.host}:${c.port} ${c.source} ${c.verified}`)).toEqual([
      'imap a:993 ispdb true',
      'imap b:993 guess true',
      'imap mail.example.com:143 preset true',
      'pop3 mail.example.com:995 srv true',
      'imap broken:993 preset false',
      'smtp mail.example.com:465 srv true',
      'smtp mail.example.com:587 srv true',
    ]);
  });

  it('a server without TLS only when nothing with TLS works for its role, and then with the warning add prints', () => {
    const plain = candidate({ port: 143, security: 'none' });
    expect(rankCandidates([plain, candidate({})], true).map((c) => c.security)).toEqual(['tls']);
    const alone = rankCandidates([candidate({ port: 143, security: 'none' }), candidate({ verified: false })], true);
    expect(alone.map((c) => c.security)).toEqual(['none', 'tls']);
    expect(alone[0]!.warnings.join(' ')).toMatch(/security none connects without encryption/);
  });
});
