// mailbox send, emails and status through the built executable (no server needed: sending is queued).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMailbox, tmpHome } from '../helpers/cli.js';
import { messageBytes, removeMessage, writeConfig } from '../helpers/store.js';

// The fields of issue 9 item 5 (sentTo, dropped, refused) were added after the first twelve, which are unchanged.
// Issue 13 added folder (the IMAP folder of a received message) and delivery (its hand-off to the account's destination).
const FIELDS = ['id', 'state', 'account', 'folder', 'date', 'from', 'to', 'subject', 'size', 'attempts', 'nextAttempt', 'error', 'path', 'sentTo', 'dropped', 'refused', 'delivery'];
let home: string;
let cleanup: () => void;

beforeAll(() => {
  ({ home, cleanup } = tmpHome());
  const account = {
    name: 'out',
    type: 'smtp',
    host: '127.0.0.1',
    port: 2525,
    security: 'tls',
    user: 'alice',
    secret: { kind: 'env', name: 'OUT_PASSWORD' },
    from: 'alice@example.test',
  };
  writeConfig(home, { version: 1, accounts: [account], filters: [] });
});
afterAll(() => cleanup());

describe('mailbox send', () => {
  it('queues a built message from the active SMTP account and prints its id', async () => {
    const r = await runMailbox(['send', '--to', 'bob@example.test', '--bcc', 'hidden@example.test', '--subject', 'Grüße', '--text', 'hello'], { home });
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^[0-9a-z]{10,}$/);
    const list = await runMailbox(['emails', '--box', 'outbox', '--json'], { home });
    const [email] = JSON.parse(list.stdout);
    expect(Object.keys(email)).toEqual(FIELDS);
    expect(email).toMatchObject({ id, state: 'send-ready', account: 'out', from: 'alice@example.test', to: ['bob@example.test'], subject: 'Grüße', attempts: 0 });
    const raw = messageBytes(home, email).toString('utf8');
    expect(raw).toContain('From: alice@example.test');
    expect(raw).not.toContain('hidden@example.test');
    const show = await runMailbox(['emails', 'show', id.slice(0, 12), '--json'], { home });
    expect(JSON.parse(show.stdout)).toMatchObject({ id, recipients: ['bob@example.test', 'hidden@example.test'] });
  });

  it('queues a complete message from stdin, byte for byte except its Bcc line', async () => {
    const message = 'From: ops@example.test\r\nTo: carol@example.test\r\nBcc: secret@example.test\r\nSubject: raw\r\n\r\n.dot line\r\n\xe9 8-bit\r\n';
    const r = await runMailbox(['send', '--file', '-', '--json'], { home, input: Buffer.from(message, 'latin1') });
    expect(r.code).toBe(0);
    const email = JSON.parse(r.stdout);
    expect(messageBytes(home, email)).toEqual(Buffer.from(message.replace('Bcc: secret@example.test\r\n', ''), 'latin1'));
    const show = JSON.parse((await runMailbox(['emails', 'show', email.id, '--json'], { home })).stdout);
    expect(show.recipients).toEqual(['carol@example.test', 'secret@example.test']);
  });

  it('rejects bad input with the field named', async () => {
    const bad = await runMailbox(['send', '--to', 'not-an-address', '--text', 'x'], { home });
    expect(bad.code).toBe(65);
    expect(bad.stderr).toContain('invalid to "not-an-address"');
    const none = await runMailbox(['send', '--file', '-'], { home, input: 'Subject: no one\r\n\r\nx\r\n' });
    expect(none.code).toBe(65);
    expect(none.stderr).toContain('no recipient');
  });
});

describe('what send confirms (issue 9)', () => {
  let own: { home: string; cleanup: () => void };
  beforeAll(() => {
    own = tmpHome();
    const account = { name: 'out', type: 'smtp', host: '127.0.0.1', port: 2525, security: 'tls', auth: 'none', from: 'alice@example.test' };
    const filter = { name: 'partners', direction: 'outbound', allow: ['ok@blocked.test'], deny: ['blocked.test'], default: true };
    writeConfig(own.home, { version: 1, accounts: [account], filters: [filter] });
  });
  afterAll(() => own.cleanup());

  it('send --file - names every envelope recipient, Bcc included (9.12); so does a built message', async () => {
    const message = 'From: ops@example.test\r\nTo: carol@example.test\r\nBcc: secret@example.test\r\nSubject: raw\r\n\r\nbody\r\n';
    const file = await runMailbox(['send', '--file', '-'], { home: own.home, input: message });
    expect(file.code).toBe(0);
    expect(file.stderr).toContain(`queued ${file.stdout.trim()} for carol@example.test, secret@example.test`);
    const built = await runMailbox(['send', '--to', 'bob@example.test', '--bcc', 'hidden@example.test', '--text', 'x'], { home: own.home });
    expect(built.stderr).toContain('for bob@example.test, hidden@example.test');
  });

  it('a recipient the outbound filter will drop is named when the message is queued', async () => {
    const some = await runMailbox(['send', '--to', 'bob@example.test', '--cc', 'eve@blocked.test', '--bcc', 'ok@blocked.test', '--text', 'x'], { home: own.home });
    expect(some.code).toBe(0);
    expect(some.stderr).toContain('warning: eve@blocked.test will be dropped when the message is sent: the outbound filter partners blocks it (deny pattern blocked.test)');
    expect(some.stderr).not.toMatch(/warning: (bob|ok)@/);
    expect(some.stderr).not.toContain('no recipient is left');
    const all = await runMailbox(['send', '--to', 'eve@blocked.test', '--text', 'x', '--json'], { home: own.home });
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout).state).toBe('send-ready');
    expect(all.stderr).toContain('no recipient is left: the message will not be sent');
  });
});

describe('emails show --raw and --body (issue 9)', () => {
  const multipart = [
    'From: ops@example.test',
    'To: reader@example.test',
    'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=',
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=iso-8859-1',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Gr=FC=DFe aus dem Caf=E9,',
    '.a line that starts with a dot',
    '--b1',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('<p>Grüße</p>').toString('base64'),
    '--b1--',
    '',
  ].join('\r\n');

  let home: string;
  let cleanup: () => void;
  beforeAll(() => ({ home, cleanup } = tmpHome()));
  afterAll(() => cleanup());

  async function queued(message: string | Buffer): Promise<{ id: string; path: string | null }> {
    const r = await runMailbox(['send', '--file', '-', '--json'], { home, input: message });
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout);
  }

  it('--raw writes the stored bytes exactly; --body the text part, decoded', async () => {
    const email = await queued(Buffer.concat([Buffer.from(multipart, 'latin1'), Buffer.from([0xe9, 0x0d, 0x0a])]));
    const raw = await runMailbox(['emails', 'show', email.id, '--raw'], { home });
    expect(raw.code).toBe(0);
    expect(raw.stdoutBytes.equals(messageBytes(home, email))).toBe(true);
    expect(raw.stdoutBytes.subarray(-3)).toEqual(Buffer.from([0xe9, 0x0d, 0x0a]));
    const body = await runMailbox(['emails', 'show', email.id.slice(0, 10), '--body'], { home });
    expect(body.code).toBe(0);
    expect(body.stdout).toBe('Grüße aus dem Café,\n.a line that starts with a dot\n');
  });

  it('an HTML-only message: --body says so and writes the HTML; bad combinations are usage errors', async () => {
    const html = await queued('From: a@example.test\r\nTo: b@example.test\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>only html</p>\r\n');
    const body = await runMailbox(['emails', 'show', html.id, '--body'], { home });
    expect(body.stdout).toContain('<p>only html</p>');
    expect(body.stderr).toContain(`email ${html.id} has no text part: this is its HTML part`);
    expect((await runMailbox(['emails', 'show', html.id, '--raw', '--body'], { home })).code).toBe(64);
    const json = await runMailbox(['emails', 'show', html.id, '--raw', '--json'], { home });
    expect(json.code).toBe(64);
    expect(json.stdout).toBe('');
    removeMessage(home, html);
    const gone = await runMailbox(['emails', 'show', html.id, '--raw'], { home });
    expect(gone.code).toBe(66);
    expect(gone.stderr).toContain('is not in the store');
  });
});

describe('mailbox emails and status', () => {
  it('filters by state, refuses to retry a message that has not failed, and counts the queue', async () => {
    const ready = JSON.parse((await runMailbox(['emails', '--state', 'send-ready', '--json'], { home })).stdout);
    expect(ready.length).toBe(2);
    expect(JSON.parse((await runMailbox(['emails', '--box', 'sent', '--json'], { home })).stdout)).toEqual([]);
    const retry = await runMailbox(['emails', 'retry', ready[0].id], { home });
    expect(retry.code).toBe(65);
    expect((await runMailbox(['emails', 'show', 'nosuchid'], { home })).code).toBe(66);
    const status = JSON.parse((await runMailbox(['status', '--json'], { home })).stdout);
    expect(status).toMatchObject({ runner: { running: false, pid: null }, queue: { waiting: 2, ready: 2, retrying: 0 } });
    expect(status.accounts[0]).toMatchObject({ name: 'out', type: 'smtp', at: null });
  });
});
