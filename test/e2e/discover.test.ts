// `mailbox discover` against a mail world on loopback: a real DNS server, an https ISPDB and
// autoconfig hosts with the harness CA, and Dovecot and the SMTP server as the servers verification
// reaches. Each source alone, sources that disagree, a source that hangs, a certificate for the wrong
// name, SRV ".", an MX of a known provider, and an address with no mail servers.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMailbox, tmpHome } from '../helpers/cli.js';
import { a, clientConfig, NEEDS_ROOT, ROOT, startMailWorld, type MailWorld } from '../helpers/mail-domain.js';
import { issueCerts } from '../harness/issue-cert.js';

let world: MailWorld;
const { home, cleanup } = tmpHome();
const LOCAL = '127.0.0.1';

beforeAll(async () => {
  world = await startMailWorld();
});
afterAll(async () => {
  await world?.stop();
  cleanup();
});

interface Json {
  address: string;
  candidates: {
    type: string;
    host: string;
    port: number;
    security: string;
    auth: string;
    oauthProvider: string | null;
    user: string;
    source: string;
    origin: string;
    confirmedBy: string[];
    verified: boolean | null;
    stages: { name: string; ok: boolean }[];
    warnings: string[];
    error: { code: string; message: string; hint: string | null } | null;
  }[];
  sources: { name: string; status: string; detail: string; ms: number }[];
}

async function discover(address: string, ...args: string[]): Promise<{ code: number | null; json: Json; stderr: string; ms: number }> {
  const started = Date.now();
  const r = await runMailbox(['discover', address, '--json', ...args], { home, env: world.env() });
  const ms = Date.now() - started;
  let json: Json;
  try {
    json = JSON.parse(r.stdout) as Json;
  } catch {
    throw new Error(`exit ${r.code}; stdout: ${r.stdout}; stderr: ${r.stderr}`);
  }
  return { code: r.code, json, stderr: r.stderr, ms };
}

const source = (json: Json, name: string) => json.sources.find((s) => s.name === name)!;
const summary = (json: Json) => json.candidates.map((c) => `${c.type} ${c.host}:${c.port} ${c.security} ${c.source} ${c.verified}`);

describe('each source alone', () => {
  it('presets: a big provider by its domain, with its OAuth provider; unreachable here, so found but not verified (76)', async () => {
    const { code, json } = await discover('someone@gmail.com');
    expect(json.candidates.filter((c) => c.source === 'preset').map((c) => `${c.type} ${c.host}:${c.port} ${c.security} ${c.auth} ${c.oauthProvider}`)).toEqual([
      'imap imap.gmail.com:993 tls oauth2 google',
      'pop3 pop.gmail.com:995 tls oauth2 google',
      'smtp smtp.gmail.com:465 tls oauth2 google',
      'smtp smtp.gmail.com:587 starttls oauth2 google',
    ]);
    // The test DNS does not know imap.gmail.com: every check fails at resolve, said why.
    expect(json.candidates.every((c) => c.verified === false && c.error?.code === 'EUNREACHABLE')).toBe(true);
    expect(code).toBe(76);
    const noVerify = await discover('someone@gmail.com', '--no-verify');
    expect(noVerify.code).toBe(0);
    expect(noVerify.json.candidates.every((c) => c.verified === null && c.stages.length === 0)).toBe(true);
  });

  it('SRV records (RFC 6186/8314): implicit TLS first, a target "." is a service not offered, each verified', async () => {
    world.zone({
      '_imaps._tcp.srv.test': [{ type: 'SRV', target: 'imap.srv.test', port: world.dovecot.imapsPort }],
      '_imap._tcp.srv.test': [{ type: 'SRV', target: '.', port: 0 }],
      '_pop3s._tcp.srv.test': [{ type: 'SRV', target: '.', port: 0 }],
      '_submissions._tcp.srv.test': [{ type: 'SRV', target: 'smtp.srv.test', port: world.smtp.smtpsPort }],
      '_submission._tcp.srv.test': [{ type: 'SRV', target: 'smtp.srv.test', port: world.smtp.smtpPort }],
      'imap.srv.test': a(LOCAL),
      'smtp.srv.test': a(LOCAL),
    });
    const { code, json } = await discover('carol@srv.test');
    expect(summary(json)).toEqual([
      `imap imap.srv.test:${world.dovecot.imapsPort} tls srv true`,
      `smtp smtp.srv.test:${world.smtp.smtpsPort} tls srv true`,
      `smtp smtp.srv.test:${world.smtp.smtpPort} starttls srv true`,
    ]);
    expect(json.candidates[0]!.stages.map((s) => s.name)).toEqual(['resolve', 'connect', 'tls', 'greeting', 'capabilities']);
    expect(json.candidates[0]!.origin).toBe('SRV _imaps._tcp.srv.test');
    expect(source(json, 'srv').detail).toContain('_imap._tcp.srv.test: not offered (target .)');
    expect(source(json, 'srv').detail).toContain('_pop3s._tcp.srv.test: not offered (target .)');
    expect(code).toBe(0);
    // Never a login: Dovecot saw connections, and no authentication at all.
    const log = fs.readFileSync(world.dovecot.logPath, 'utf8');
    expect(log).not.toMatch(/carol@srv\.test/);
  });

  it('the ISPDB ($MAILBOX_ISPDB_URL): its servers with the address filled in, verified', async () => {
    world.ispdb.page(LOCAL, '/v1.1/ispdb.test', {
      body: clientConfig('ispdb.test', [
        { type: 'imap', host: 'imap.ispdb.test', port: world.dovecot.imapsPort, socketType: 'SSL', user: '%EMAILLOCALPART%' },
        { type: 'pop3', host: 'pop.ispdb.test', port: world.dovecot.pop3sPort, socketType: 'SSL' },
        { type: 'smtp', host: 'smtp.ispdb.test', port: world.smtp.smtpPort, socketType: 'STARTTLS' },
      ]),
    });
    world.zone({ 'imap.ispdb.test': a(LOCAL), 'pop.ispdb.test': a(LOCAL), 'smtp.ispdb.test': a(LOCAL) });
    const { code, json } = await discover('carol@ispdb.test');
    expect(summary(json)).toEqual([
      `imap imap.ispdb.test:${world.dovecot.imapsPort} tls ispdb true`,
      `pop3 pop.ispdb.test:${world.dovecot.pop3sPort} tls ispdb true`,
      `smtp smtp.ispdb.test:${world.smtp.smtpPort} starttls ispdb true`,
    ]);
    expect(json.candidates[0]!.user).toBe('carol');
    expect(json.candidates[1]!.user).toBe('carol@ispdb.test');
    expect(json.candidates[0]!.origin).toBe(`ISPDB ${world.ispdbUrl}ispdb.test`);
    expect(code).toBe(0);

    // A copy of the ISPDB as files (a closed network): MAILBOX_ISPDB_URL=file:///DIR/
    const dir = fs.mkdtempSync(path.join(home, 'ispdb-'));
    fs.writeFileSync(path.join(dir, 'ispdb.test'), clientConfig('ispdb.test', [{ type: 'imap', host: 'imap.ispdb.test', port: world.dovecot.imapsPort, socketType: 'SSL' }]));
    const local = await runMailbox(['discover', 'carol@ispdb.test', '--type', 'imap', '--json'], { home, env: world.env({ MAILBOX_ISPDB_URL: pathToFileURL(dir).href }) });
    expect(JSON.parse(local.stdout).candidates[0]).toMatchObject({ source: 'ispdb', origin: `ISPDB ${pathToFileURL(dir).href}/ispdb.test`, verified: true });
    expect(local.code).toBe(0);
  });

  it('MX of a known provider maps to its preset (--no-verify); another MX is looked up in the ISPDB by its domain', async () => {
    world.zone({ 'mx.test': [{ type: 'MX', exchange: 'mx-test.mail.protection.outlook.com', priority: 0 }] });
    const known = await discover('boss@mx.test', '--no-verify');
    expect(known.json.candidates.map((c) => `${c.type} ${c.host}:${c.port} ${c.security} ${c.auth} ${c.oauthProvider} ${c.source}`)).toEqual([
      'imap outlook.office365.com:993 tls oauth2 microsoft mx',
      'pop3 outlook.office365.com:995 tls oauth2 microsoft mx',
      'smtp smtp.office365.com:587 starttls oauth2 microsoft mx',
    ]);
    expect(known.json.candidates[0]!.origin).toBe('MX mx-test.mail.protection.outlook.com -> Microsoft 365 (Exchange Online)');
    expect(known.code).toBe(0);

    world.zone({
      'customer.example.test': [{ type: 'MX', exchange: 'mx2.hoster.test', priority: 20 }, { type: 'MX', exchange: 'mx1.hoster.test', priority: 10 }],
      'imap.hoster.test': a(LOCAL),
      'smtp.hoster.test': a(LOCAL),
    });
    world.ispdb.page(LOCAL, '/v1.1/hoster.test', {
      body: clientConfig('hoster.test', [
        { type: 'imap', host: 'imap.hoster.test', port: world.dovecot.imapsPort, socketType: 'SSL' },
        { type: 'smtp', host: 'smtp.hoster.test', port: world.smtp.smtpsPort, socketType: 'SSL' },
      ]),
    });
    const hosted = await discover('carol@customer.example.test');
    expect(summary(hosted.json)).toEqual([`imap imap.hoster.test:${world.dovecot.imapsPort} tls mx true`, `smtp smtp.hoster.test:${world.smtp.smtpsPort} tls mx true`]);
    expect(hosted.json.candidates[0]!.origin).toBe('MX mx1.hoster.test -> ISPDB hoster.test');
    expect(hosted.code).toBe(0);
  });

  it.skipIf(!ROOT)(`the domain's autoconfig over https (autoconfig.DOMAIN with ?emailaddress=), verified (${NEEDS_ROOT})`, async () => {
    const web = await world.autoconfigHost();
    web.page('autoconfig.autoconfig.test', '/mail/config-v1.1.xml', {
      body: clientConfig('autoconfig.test', [
        { type: 'imap', host: 'mail.autoconfig.test', port: world.dovecot.imapsPort, socketType: 'SSL' },
        { type: 'smtp', host: 'mail.autoconfig.test', port: world.smtp.smtpsPort, socketType: 'SSL', auth: 'OAuth2' },
      ], 'login.microsoftonline.com'),
    });
    world.zone({ 'autoconfig.autoconfig.test': a(web.host), 'mail.autoconfig.test': a(LOCAL) });
    const { code, json } = await discover('carol@autoconfig.test');
    expect(summary(json)).toEqual([`imap mail.autoconfig.test:${world.dovecot.imapsPort} tls autoconfig true`, `smtp mail.autoconfig.test:${world.smtp.smtpsPort} tls autoconfig true`]);
    expect(json.candidates[1]).toMatchObject({ auth: 'oauth2', oauthProvider: 'microsoft' });
    expect(json.candidates[0]!.origin).toBe('https://autoconfig.autoconfig.test/mail/config-v1.1.xml?emailaddress=carol%40autoconfig.test');
    expect(web.requests()).toContain('autoconfig.autoconfig.test/mail/config-v1.1.xml?emailaddress=carol%40autoconfig.test');
    expect(code).toBe(0);
  });

  it.skipIf(!ROOT)(`plain http autoconfig only as the last resort, marked as such (${NEEDS_ROOT})`, async () => {
    const { startWebServer } = await import('../harness/web-server.js');
    const web = await world.autoconfigHost();
    const plain = await startWebServer({ host: web.host, port: 80 });
    try {
      // https answers nothing for this domain; the http one has the document.
      plain.page('autoconfig.httponly.test', '/mail/config-v1.1.xml', {
        body: clientConfig('httponly.test', [
          { type: 'imap', host: 'imap.httponly.test', port: world.dovecot.imapsPort, socketType: 'SSL' },
          { type: 'smtp', host: 'imap.httponly.test', port: world.smtp.smtpsPort, socketType: 'SSL' },
        ]),
      });
      world.zone({ 'autoconfig.httponly.test': a(web.host), 'imap.httponly.test': a(LOCAL) });
      const { code, json } = await discover('carol@httponly.test');
      expect(summary(json)).toEqual([`imap imap.httponly.test:${world.dovecot.imapsPort} tls autoconfig-http true`, `smtp imap.httponly.test:${world.smtp.smtpsPort} tls autoconfig-http true`]);
      expect(json.candidates[0]!.warnings.join('\n')).toContain('read over plain http');
      // Over plain http without the address: it would cross the network in clear text.
      expect(json.candidates[0]!.origin).toBe('http://autoconfig.httponly.test/mail/config-v1.1.xml');
      expect(code).toBe(0);
    } finally {
      await plain.stop();
    }
  });

  it.skipIf(!ROOT)(`the usual host names on the standard ports, last: only where something answers (${NEEDS_ROOT})`, async () => {
    const { loopbackAddress } = await import('../harness/web-server.js');
    const host = loopbackAddress();
    await world.forward(host, 993, world.dovecot.imapsPort);
    await world.forward(host, 465, world.smtp.smtpsPort);
    await world.forward(host, 587, world.smtp.smtpPort);
    world.zone({ 'imap.guess.test': a(host), 'smtp.guess.test': a(host) });
    const { code, json } = await discover('carol@guess.test', '--type', 'imap');
    // imap.guess.test:143 refuses: a guess where nothing listens is no candidate.
    expect(summary(json)).toEqual(['imap imap.guess.test:993 tls guess true']);
    expect(source(json, 'guess')).toMatchObject({ status: 'found' });
    expect(code).toBe(0);
    const smtp = await discover('carol@guess.test', '--type', 'smtp');
    expect(summary(smtp.json)).toEqual(['smtp smtp.guess.test:465 tls guess true', 'smtp smtp.guess.test:587 starttls guess true']);
  });
});

describe('ranking, failures and time', () => {
  it('sources that disagree: verified first, implicit TLS before STARTTLS, the better source named, the others as confirmation', async () => {
    world.zone({
      '_imaps._tcp.mixed.test': [{ type: 'SRV', target: 'imap.mixed.test', port: world.dovecot.imapsPort }],
      '_submissions._tcp.mixed.test': [{ type: 'SRV', target: 'smtp.mixed.test', port: world.smtp.smtpsPort }],
      'imap.mixed.test': a(LOCAL),
      'smtp.mixed.test': a(LOCAL),
    });
    world.ispdb.page(LOCAL, '/v1.1/mixed.test', {
      body: clientConfig('mixed.test', [
        { type: 'imap', host: 'old.mixed.test', port: 993, socketType: 'SSL' },
        { type: 'imap', host: 'imap.mixed.test', port: world.dovecot.imapPort, socketType: 'STARTTLS' },
        { type: 'smtp', host: 'smtp.mixed.test', port: world.smtp.smtpsPort, socketType: 'SSL' },
        { type: 'smtp', host: 'smtp.mixed.test', port: world.smtp.smtpPort, socketType: 'plain' },
      ]),
    });
    const { code, json } = await discover('carol@mixed.test');
    expect(summary(json)).toEqual([
      `imap imap.mixed.test:${world.dovecot.imapsPort} tls srv true`,
      `imap imap.mixed.test:${world.dovecot.imapPort} starttls ispdb true`,
      'imap old.mixed.test:993 tls ispdb false',
      `smtp smtp.mixed.test:${world.smtp.smtpsPort} tls srv true`,
    ]);
    // The same server from two sources: the better source names it, the other confirms it.
    expect(json.candidates[3]!.confirmedBy).toEqual(['ispdb']);
    // A server without TLS is dropped while one with TLS works.
    expect(json.candidates.some((c) => c.security === 'none')).toBe(false);
    expect(json.candidates[2]!.error?.message).toMatch(/old\.mixed\.test not found/);
    expect(code).toBe(0);
  });

  it('a source that hangs does not hold the answer: one ranked below a verified answer is not awaited, one above it only to its own timeout', async () => {
    world.zone({
      '_imaps._tcp.hang.test': [{ type: 'SRV', target: 'imap.hang.test', port: world.dovecot.imapsPort }],
      '_submissions._tcp.hang.test': [{ type: 'SRV', target: 'imap.hang.test', port: world.smtp.smtpsPort }],
      'imap.hang.test': a(LOCAL),
    });
    world.ispdb.page(LOCAL, '/v1.1/hang.test', 'hang');
    const below = await discover('carol@hang.test');
    expect(summary(below.json)).toEqual([`imap imap.hang.test:${world.dovecot.imapsPort} tls srv true`, `smtp imap.hang.test:${world.smtp.smtpsPort} tls srv true`]);
    expect(source(below.json, 'ispdb')).toMatchObject({ status: 'skipped' });
    expect(below.code).toBe(0);
    // The ISPDB's own timeout is 5 s: it was not awaited.
    expect(below.ms).toBeLessThan(4500);

    // Now the SRV records hang (a DNS server that never answers) and the ISPDB answers.
    for (const s of ['_imaps', '_imap', '_pop3s', '_pop3', '_submissions', '_submission']) world.dns.set(`${s}._tcp.hang2.test`, 'hang');
    world.ispdb.page(LOCAL, '/v1.1/hang2.test', {
      body: clientConfig('hang2.test', [
        { type: 'imap', host: 'imap.hang.test', port: world.dovecot.imapsPort, socketType: 'SSL' },
        { type: 'smtp', host: 'imap.hang.test', port: world.smtp.smtpsPort, socketType: 'SSL' },
      ]),
    });
    const above = await discover('carol@hang2.test', '--timeout', '8');
    expect(summary(above.json)).toEqual([`imap imap.hang.test:${world.dovecot.imapsPort} tls ispdb true`, `smtp imap.hang.test:${world.smtp.smtpsPort} tls ispdb true`]);
    expect(source(above.json, 'srv')).toMatchObject({ status: 'timeout' });
    expect(above.code).toBe(0);
    // The SRV source's own timeout (4 s) ended the wait, not the whole discovery's 8 s.
    expect(above.ms).toBeLessThan(7500);
  });

  it('the whole discovery stops at --timeout with what it has', async () => {
    for (const s of ['_imaps', '_imap', '_pop3s', '_pop3', '_submissions', '_submission']) world.dns.set(`${s}._tcp.none.test`, 'hang');
    world.dns.set('none.test', 'hang');
    world.dns.set('autoconfig.none.test', 'hang');
    const { code, json, ms } = await discover('carol@none.test', '--timeout', '1.5');
    expect(ms).toBeLessThan(4000);
    expect(json.candidates).toEqual([]);
    expect(json.sources.filter((s) => s.status === 'timeout').map((s) => s.name)).toEqual(expect.arrayContaining(['srv', 'mx']));
    expect(code).toBe(69);
    world.dns.set('none.test', []);
    world.dns.clear();
  });

  it('an address with no mail servers at all: 69, and every source says what it saw', async () => {
    const { code, json } = await discover('nobody@nowhere.test');
    expect(json).toMatchObject({ address: 'nobody@nowhere.test', candidates: [] });
    expect(json.sources.map((s) => `${s.name} ${s.status}`)).toEqual(['preset nothing', 'autoconfig nothing', 'srv nothing', 'ispdb nothing', 'mx nothing', 'guess nothing']);
    expect(source(json, 'mx').detail).toBe('no MX records for nowhere.test');
    const text = await runMailbox(['discover', 'nobody@nowhere.test'], { home, env: world.env() });
    expect(text.stderr).toContain('no incoming and outgoing server found for nobody@nowhere.test');
    expect(code).toBe(69);
  });

  it.skipIf(!ROOT)(`a certificate for the wrong name on the autoconfig host: that source is rejected, says why, and plain http is not tried (${NEEDS_ROOT})`, async () => {
    const wrong = await issueCerts(world.certs, ['wrong.invalid'], `${world.certs.dir}/../wrong`);
    const web = await world.autoconfigHost({ certFile: wrong.chainFile, keyFile: wrong.keyFile });
    web.page('autoconfig.wrongcert.test', '/mail/config-v1.1.xml', { body: clientConfig('wrongcert.test', [{ type: 'imap', host: 'evil.test', port: 993, socketType: 'SSL' }]) });
    world.zone({ 'autoconfig.wrongcert.test': a(web.host), 'wrongcert.test': a(web.host) });
    const { code, json } = await discover('carol@wrongcert.test');
    const report = source(json, 'autoconfig');
    expect(report.status).toBe('failed');
    expect(report.detail).toMatch(/autoconfig\.wrongcert\.test: the certificate is not trusted: .*wrong\.invalid.*ERR_TLS_CERT_ALTNAME_INVALID/);
    expect(report.detail).toContain('plain http not tried');
    expect(json.candidates).toEqual([]);
    expect(web.requests()).toEqual([]);
    expect(code).toBe(69);
  });

  it.skipIf(!ROOT)(`a redirect from https to http is refused (${NEEDS_ROOT})`, async () => {
    const web = await world.autoconfigHost();
    web.page('autoconfig.redirect.test', '/mail/config-v1.1.xml', { redirect: 'http://autoconfig.redirect.test/elsewhere.xml' });
    world.zone({ 'autoconfig.redirect.test': a(web.host) });
    const { json } = await discover('carol@redirect.test', '--no-verify');
    expect(source(json, 'autoconfig')).toMatchObject({ status: 'failed' });
    expect(source(json, 'autoconfig').detail).toContain('redirect to http://autoconfig.redirect.test/elsewhere.xml refused (from https to http)');
  });

  it('text output: candidates per role with their origin and check, then the sources; bad input is named', async () => {
    world.zone({
      '_imaps._tcp.srv.test': [{ type: 'SRV', target: 'imap.srv.test', port: world.dovecot.imapsPort }],
      '_submissions._tcp.srv.test': [{ type: 'SRV', target: 'smtp.srv.test', port: world.smtp.smtpsPort }],
      'imap.srv.test': a(LOCAL),
      'smtp.srv.test': a(LOCAL),
    });
    const r = await runMailbox(['discover', 'carol@srv.test', '--type', 'imap'], { home, env: world.env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`✓ imap imap.srv.test:${world.dovecot.imapsPort} tls, auth password, user carol@srv.test`);
    expect(r.stdout).toContain('from srv: SRV _imaps._tcp.srv.test');
    expect(r.stdout).toMatch(/verified in \d+ ms \(resolve, connect, tls, greeting, capabilities\): TLSv1\.\d, certificate CN=example\.test by CN=mailbox test CA, trusted, expires \d{4}-\d\d-\d\d; login mechanisms PLAIN LOGIN/);
    expect(r.stdout).toMatch(/^sources$/m);
    const bad = await runMailbox(['discover', 'not-an-address'], { home, env: world.env() });
    expect(bad.code).toBe(65);
    expect(bad.stderr).toContain('invalid address "not-an-address"');
    const badDns = await runMailbox(['discover', 'a@b.test'], { home, env: world.env({ MAILBOX_DNS_SERVERS: 'dns.example.com' }) });
    expect(badDns.code).toBe(65);
    expect(badDns.stderr).toContain('invalid MAILBOX_DNS_SERVERS "dns.example.com"');
  });
});
