// mailbox emails export --maildir: what the store keeps, as Maildir files byte for byte (8-bit, dot
// lines, a message of several megabytes), named as the local store names its files; again, only what
// is new. Runs on both stores (emails-export.postgres.test.ts).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceOf } from '../../src/store/local/file-names.js';
import { startDovecot, type Dovecot } from '../harness/index.js';
import { runMailbox, tmpHome } from '../helpers/cli.js';
import { writeConfig } from '../helpers/store.js';
import { bulkDeliver } from '../integration/run-fixtures.js';

let dovecot: Dovecot;
let home: string;
let cleanup: () => void;
const env = { PW: 'bob-secret' };

const delivered = [
  Buffer.from('Message-ID: <a@test>\r\nFrom: x@example.test\r\nSubject: plain\r\n\r\nhello\r\n', 'latin1'),
  Buffer.from('Message-ID: <b@test>\r\nFrom: x@example.test\r\nSubject: 8-bit\r\nContent-Type: text/plain; charset=latin1\r\n\r\n\xe9t\xe9\r\n.dot line\r\n..two\r\n', 'latin1'),
  Buffer.from(`Message-ID: <c@test>\r\nFrom: x@example.test\r\nSubject: large\r\n\r\n${'0123456789abcdef'.repeat(160 * 1024)}\r\n`, 'latin1'),
];
const queued = Buffer.from('From: bob@example.test\r\nTo: carol@example.test\r\nSubject: out\r\n\r\nqueued\r\n', 'latin1');

beforeAll(async () => {
  dovecot = await startDovecot();
  ({ home, cleanup } = tmpHome());
  await bulkDeliver(dovecot, 'bob', delivered);
  const account = { name: 'work', type: 'imap', host: dovecot.host, port: dovecot.imapsPort, security: 'tls', user: 'bob', secret: { kind: 'env', name: 'PW' }, tls: { ca: dovecot.caFile } };
  writeConfig(home, { version: 1, accounts: [account], filters: [] });
  const run = await runMailbox(['run', '--once'], { home, env });
  expect(run.code, run.stderr).toBe(0);
  expect((await runMailbox(['send', '--file', '-', '--to', 'carol@example.test'], { home, input: queued })).code).toBe(0);
}, 60_000);
afterAll(async () => {
  cleanup?.();
  await dovecot?.stop();
});

const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function files(dir: string): Map<string, Buffer> {
  const found = new Map<string, Buffer>();
  if (!fs.existsSync(dir)) return found;
  for (const name of fs.readdirSync(dir)) found.set(name, fs.readFileSync(path.join(dir, name)));
  return found;
}

describe('mailbox emails export --maildir', () => {
  it('writes every box as a Maildir, byte for byte; again, only what is new', async () => {
    const out = path.join(home, 'export');
    const r = await runMailbox(['emails', 'export', '--maildir', out, '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ dir: out, box: null, written: 4, present: 0, missing: 0, boxes: { inbox: { written: 3 }, outbox: { written: 1 } } });
    const inbox = files(path.join(out, 'inbox', 'new'));
    // Compared as digests: a deep equality of megabytes of Buffer takes vitest seconds.
    expect([...inbox.values()].map(digest).sort()).toEqual(delivered.map(digest).sort());
    for (const name of inbox.keys()) expect(sourceOf(name)).toMatchObject({ account: 'work', id: expect.stringMatching(/^\d+\/\d+$/) });
    expect([...files(path.join(out, 'outbox', 'new')).values()].map(digest)).toEqual([digest(queued)]);
    for (const box of ['inbox', 'outbox']) for (const sub of ['tmp', 'cur']) expect(fs.readdirSync(path.join(out, box, sub))).toEqual([]);

    const again = await runMailbox(['emails', 'export', '--maildir', out], { home });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('exported 0 message(s)');
    expect(again.stderr).toContain('4 were there already');
    expect(files(path.join(out, 'inbox', 'new')).size).toBe(3);
  });

  it('--box B writes that box into DIR itself; bad input is 64 or 65', async () => {
    const out = path.join(home, 'only-inbox');
    const r = await runMailbox(['emails', 'export', '--maildir', out, '--box', 'inbox'], { home });
    expect(r.code, r.stderr).toBe(0);
    expect(files(path.join(out, 'new')).size).toBe(3);
    expect(fs.existsSync(path.join(out, 'outbox'))).toBe(false);
    expect((await runMailbox(['emails', 'export'], { home })).code).toBe(64);
    const bad = await runMailbox(['emails', 'export', '--maildir', out, '--box', 'spam'], { home });
    expect(bad.code).toBe(65);
    expect(bad.stderr).toContain('invalid box "spam"');
  });
});
