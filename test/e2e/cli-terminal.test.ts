// Output for people at a terminal (issue 9): fitted to the terminal's width, long values cut only
// there (never in --json, never into a pipe), the email list paged to the newest 50 with short ids,
// one time format (local, to the second); `mailbox test` against Dovecot with its stage details
// continued on indented lines and the certificate fingerprint shortened (whole with --full).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type Dovecot } from '../harness/index.js';
import { resolvePaths } from '../../src/store/paths.js';
import { openStores } from '../../src/store/open.js';
import type { EmailRecord } from '../../src/store/types.js';
import { runMailbox, tmpHome } from '../helpers/cli.js';
import { onTerminal } from '../helpers/pty.js';

const { home, cleanup } = tmpHome();
// A zone with a 45-minute offset: a time shown in UTC (or cut from ISO text) cannot pass for local.
const TZ = 'Asia/Kathmandu';
const COUNT = 60;
const LONG = 'a subject long enough that no 80-column terminal shows it whole, with more words after it';
let records: EmailRecord[] = [];

function localText(iso: string): string {
  return new Intl.DateTimeFormat('sv-SE', { timeZone: TZ, dateStyle: 'short', timeStyle: 'medium' }).format(new Date(iso));
}

beforeAll(async () => {
  const accounts = [
    { name: 'out', type: 'smtp', host: 'smtp.example.com', port: 465, security: 'tls', auth: 'none', from: 'reports@example.com' },
    { name: 'work-imap', type: 'imap', host: 'imap.example.com', user: 'me', secret: { kind: 'env', name: 'PW' } },
  ];
  const filters = [
    { name: 'junk', direction: 'inbound', allow: ['friend@very-long-domain-name.example.org'], deny: ['*.spam-sender-domain.example.net', 'bad@example.com', 'worse@example.com'], default: true },
  ];
  fs.writeFileSync(path.join(home, 'config.json'), JSON.stringify({ version: 1, accounts, filters }));
  const stores = await openStores(resolvePaths({}, home), { clock: () => new Date(), pid: process.pid, isAlive: () => false });
  try {
    for (let i = 0; i < COUNT; i++) {
      const to = `recipient-number-${i}@a-rather-long-domain.example.com`;
      const message = `From: reports@example.com\r\nTo: ${to}\r\nSubject: ${i} ${LONG}\r\nDate: Mon, 02 Jun 2025 08:00:00 +0000\r\n\r\nbody ${i}\r\n`;
      records.push(await stores.queue.enqueue(Buffer.from(message), { account: 'out', recipients: [to] }));
    }
    const at = records[COUNT - 1]!.createdAt;
    await stores.status.save({
      accounts: { out: { job: 'send', at, ok: false, summary: 'nothing sent', error: 'ECONNREFUSED connect to smtp.example.com:465 refused, and a long explanation after it', lastSuccessAt: records[0]!.createdAt, lastError: { at, message: 'refused' } } },
    });
  } finally {
    await stores.close();
  }
  records = records.reverse(); // newest first, as listed
});
afterAll(cleanup);

function lines(screen: string): string[] {
  return screen.split('\n').filter((l) => l.trim() !== '');
}

describe('emails', () => {
  it('on an 80-column terminal: the newest 50, rows that fit, short unique ids, local arrival times, how to see more', async () => {
    const r = await onTerminal(['emails'], { home, cols: 80, env: { TZ } });
    expect(r.code).toBe(0);
    const all = lines(r.screen);
    for (const line of all) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(r.screen).toContain(`the newest 50 of ${COUNT} emails: --limit N shows more, --all shows every one`);
    const rows = all.filter((l) => /send-ready/.test(l));
    expect(rows).toHaveLength(50);
    expect(r.screen).toContain('…'); // the subject is cut
    const ids = rows.map((l) => l.split(/\s+/)[0]!);
    expect(new Set(ids).size).toBe(50);
    ids.forEach((id, i) => {
      expect(records[i]!.id.startsWith(id)).toBe(true);
      expect(id.length).toBeGreaterThanOrEqual(8);
      expect(id.length).toBeLessThan(records[i]!.id.length);
    });
    expect(rows[0]).toContain(localText(records[0]!.createdAt));
    // The prefix shown works as the id.
    const show = await runMailbox(['emails', 'show', ids[3]!, '--json'], { home });
    expect(JSON.parse(show.stdout).id).toBe(records[3]!.id);
  });

  it('--all and --limit on a terminal; --json and a pipe get every record whole', async () => {
    const every = await onTerminal(['emails', '--all'], { home, cols: 80, env: { TZ } });
    expect(lines(every.screen).filter((l) => /send-ready/.test(l))).toHaveLength(COUNT);
    expect(every.screen).not.toContain('the newest');
    const five = await onTerminal(['emails', '--limit', '5'], { home, cols: 80 });
    expect(lines(five.screen).filter((l) => /send-ready/.test(l))).toHaveLength(5);
    const json = await onTerminal(['emails', '--json'], { home, cols: 80 });
    const parsed = JSON.parse(json.screen.slice(json.screen.indexOf('[')));
    expect(parsed).toHaveLength(COUNT);
    expect(parsed[0]).toMatchObject({ id: records[0]!.id, subject: `${COUNT - 1} ${LONG}`, date: '2025-06-02T08:00:00.000Z' });
    const piped = await runMailbox(['emails'], { home, env: { TZ } });
    const rows = piped.stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(COUNT);
    expect(rows[0]!.startsWith(`${records[0]!.id} `)).toBe(true);
    expect(rows[0]).toContain(LONG);
    expect(piped.stdout).not.toContain('…');
    expect((await runMailbox(['emails', '--all', '--limit', '3'], { home })).code).toBe(64);
  });
});

describe('status and filter list', () => {
  it('status shows the last success, in local time, and fits 80 columns', async () => {
    const r = await onTerminal(['status'], { home, cols: 80, env: { TZ } });
    for (const line of lines(r.screen)) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(r.screen).toMatch(/ACCOUNT\s+.*LAST\s+RESULT\s+LAST SUCCESS\s+DETAIL/);
    expect(r.screen).toMatch(new RegExp(`out\\s+.*send ${localText(records[0]!.createdAt)}\\s+FAILED\\s+${localText(records[COUNT - 1]!.createdAt)}\\s+ECONNREFUSED`));
    expect(r.screen).toMatch(/work-imap\s+.*never/);
    const piped = await runMailbox(['status'], { home, env: { TZ } });
    expect(piped.stdout).toContain('and a long explanation after it');
  });

  it('list fits 80 columns and keeps the secret source; a pipe gets whole values', async () => {
    const r = await onTerminal(['list'], { home, cols: 80 });
    for (const line of lines(r.screen)) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(r.screen).toMatch(/^NAME\s+TYPE\s+SERVER\s+SECURITY\s+USER\s+SECRET\s+ACTIVE\s+FLAGS$/m);
    expect(r.screen).toMatch(/^work-imap\s+imap\s+.*env PW\s+yes\s+-$/m);
    const piped = await runMailbox(['list'], { home });
    expect(piped.stdout).toMatch(/^work-imap\s+imap\s+imap\.example\.com:993\s+tls\s+me\s+env PW\s+yes\s+-$/m);
  });

  it('filter list fits 80 columns and says which accounts use the default filter', async () => {
    const r = await onTerminal(['filter', 'list'], { home, cols: 80 });
    for (const line of lines(r.screen)) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(r.screen).toMatch(/junk\s+inbound\s+.*work-imap \(default\)/);
    const json = JSON.parse((await runMailbox(['filter', 'list', '--json'], { home })).stdout);
    expect(json[0]).toMatchObject({ name: 'junk', usedBy: [], usedByDefault: ['work-imap'] });
    const piped = await runMailbox(['filter', 'list'], { home });
    expect(piped.stdout).toContain('*.spam-sender-domain.example.net,bad@example.com,worse@example.com');
  });
});

describe('mailbox test', () => {
  let dovecot: Dovecot;
  const probeHome = tmpHome();
  const env = { ALICE_PW: 'alice-secret' };
  const imap = { name: 'imap-tls', type: 'imap', host: '127.0.0.1', port: 0, security: 'tls', user: 'alice', secret: { kind: 'env', name: 'ALICE_PW' }, folder: 'INBOX' };

  beforeAll(async () => {
    dovecot = await startDovecot();
    // The CA file under a long path: the verified-against part of the TLS line is long too.
    const caDir = path.join(probeHome.home, 'certificates-of-the-test-servers', 'dovecot-on-the-loopback-interface');
    fs.mkdirSync(caDir, { recursive: true });
    const ca = path.join(caDir, 'ca.pem');
    fs.copyFileSync(dovecot.caFile, ca);
    const accounts = [{ ...imap, port: dovecot.imapsPort, tls: { ca } }];
    fs.writeFileSync(path.join(probeHome.home, 'config.json'), JSON.stringify({ version: 1, accounts, filters: [] }));
  });
  afterAll(async () => {
    await dovecot?.stop();
    probeHome.cleanup();
  });

  /** What the terminal shows on each line: the spinner's line is overwritten (after its last \r). */
  const shown = (screen: string) => lines(screen).map((l) => l.slice(l.lastIndexOf('\r') + 1)).filter((l) => l.trim() !== '');

  it('on an 80-column terminal: every line fits, details continue under the detail column, the fingerprint shortened', async () => {
    const r = await onTerminal(['test', 'imap-tls'], { home: probeHome.home, cols: 80, env });
    expect(r.code, r.screen).toBe(0);
    const all = shown(r.screen);
    for (const line of all) expect(line.length, line).toBeLessThanOrEqual(80);
    const tls = all.findIndex((l) => /^ {2}✓ tls +\d+ ms {2}TLSv1\.3/.test(l));
    expect(tls, r.screen).toBeGreaterThan(0);
    const column = all[tls]!.indexOf('TLSv1.3');
    const next = all[tls + 1]!;
    expect(next.slice(0, column).trim()).toBe('');
    expect(next[column]).not.toBe(' ');
    const fp = dovecot.fingerprint;
    expect(r.screen).toContain(`SHA-256 ${fp.slice(0, 23)}…`);
    expect(r.screen.replace(/\s+/g, '')).not.toContain(fp);
    expect(r.screen).toMatch(/verified against the account's CA file/);
    expect(r.screen).toContain('imap-tls: ok');
  });

  it('--full shows the whole fingerprint (broken over lines only where it cannot fit)', async () => {
    const r = await onTerminal(['test', 'imap-tls', '--full'], { home: probeHome.home, cols: 80, env });
    expect(r.code, r.screen).toBe(0);
    for (const line of shown(r.screen)) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(shown(r.screen).map((l) => l.trim()).join('')).toContain(dovecot.fingerprint);
    expect(r.screen).not.toContain('…');
  });

  it('a pipe and --json get the TLS stage on one line with the whole fingerprint, as before', async () => {
    const piped = await runMailbox(['test', 'imap-tls'], { home: probeHome.home, env });
    expect(piped.code).toBe(0);
    expect(piped.stdout).toMatch(new RegExp(`✓ tls +\\d+ ms {2}TLSv1\\.3 [^\\n]*; SHA-256 ${dovecot.fingerprint}; verified against the account's CA file`));
    const json = await onTerminal(['test', 'imap-tls', '--json'], { home: probeHome.home, cols: 80, env });
    const [result] = JSON.parse(json.screen.slice(json.screen.indexOf('['), json.screen.lastIndexOf(']') + 1));
    const tls = result.stages.find((s: { name: string }) => s.name === 'tls');
    expect(tls.detail).toContain(`SHA-256 ${dovecot.fingerprint};`);
    expect(tls.data.certificate.fingerprint256).toBe(dovecot.fingerprint);
  });
});
