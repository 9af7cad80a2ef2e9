// The local queue's repairs after a stop (what the shared cases in store-contract.test.ts cannot
// show): a message in flight when the runner was killed, a file moved but not logged, an enqueue cut
// between its log line and its rename, a file put into the outbox by hand.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileEmailLog } from '../../src/store/local/email-log.js';
import { MailFiles, type TmpWriter } from '../../src/store/local/mail-files.js';
import { LocalQueue } from '../../src/store/local/queue.js';

let dir: string;
let files: MailFiles;
let log: FileEmailLog;
const t0 = new Date('2025-01-01T00:00:00Z');
const message = (subject: string) => Buffer.from(`From: a@x.test\r\nTo: b@x.test\r\nSubject: ${subject}\r\n\r\nbody\r\n`);

/** Writers as tmp file names name them: this process is "me", "busy" is another live one, any other is gone. */
const writers: TmpWriter = { tag: async () => 'me', alive: async (tag) => tag === 'me' || tag === 'busy' };

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-queue-'));
  files = new MailFiles(path.join(dir, 'mail'), writers);
  log = new FileEmailLog(path.join(dir, 'emails.jsonl'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A queue as a new process opens it (its own view of the log). */
const queue = () => new LocalQueue(files, log, () => t0);
const outbox = () => fs.readdirSync(path.join(dir, 'mail/outbox/new'));

describe('local queue after a stop', () => {
  it('sends again a message found in flight', async () => {
    const record = await queue().enqueue(message('crash'), { account: 'out', recipients: ['b@x.test'] });
    await queue().claim(t0, 10); // then SIGKILL: no settle
    const next = queue();
    expect(await next.recover()).toEqual([]);
    const again = await next.claim(t0, 10);
    expect(again.map((m) => m.record.id)).toEqual([record.id]);
    expect(again[0]!.record.attempts).toBe(2);
  });

  it('repairs a stop between moving a sent message and logging it', async () => {
    const q = queue();
    const record = await q.enqueue(message('moved'), { account: 'out', recipients: ['b@x.test'] });
    const [claimed] = await q.claim(t0, 1);
    await q.place(claimed!, { kind: 'sent', reply: '250 ok', account: 'out' }, t0); // then a crash before commit()
    const notes = await queue().recover();
    expect(notes.join()).toContain(record.id);
    expect((await log.readAll()).get(record.id)).toMatchObject({ state: 'sent', inFlight: null });
  });

  it('finishes an enqueue cut between its log line and its rename; marks a lost file failed', async () => {
    const q = queue();
    const kept = await q.enqueue(message('kept'), { account: 'out', recipients: ['b@x.test'] });
    const lost = await q.enqueue(message('lost'), { account: 'out', recipients: ['b@x.test'] });
    const [keptFile] = outbox().filter((n) => n.startsWith(kept.id));
    // The `mailbox send` that wrote it was killed after its log line: its file is still in tmp/.
    fs.renameSync(path.join(dir, 'mail/outbox/new', keptFile!), path.join(dir, 'mail/outbox/tmp', `${kept.id}.4242-1.tmp`));
    fs.rmSync(path.join(dir, 'mail/outbox/new', outbox().find((n) => n.startsWith(lost.id))!));
    const notes = await queue().recover();
    expect(notes.join('\n')).toMatch(new RegExp(`${kept.id} was queued when a stop came`));
    expect(notes.join('\n')).toMatch(new RegExp(`${lost.id}: its file is missing`));
    expect(outbox()).toEqual([keptFile]);
    expect((await log.readAll()).get(lost.id)!.state).toBe('send-failed');
  });

  it('leaves no litter in outbox/tmp from a killed `mailbox send`, at start and while it runs; spares one at work', async () => {
    const tmp = (name: string) => path.join(dir, 'mail/outbox/tmp', name);
    await files.prepare();
    fs.writeFileSync(tmp('gone1.4242-1.tmp'), 'half a message'); // killed before its log line: nothing was queued
    fs.writeFileSync(tmp('work1.busy.tmp'), 'being written'); // a `mailbox send` still at work
    const q = queue();
    expect(await q.recover()).toEqual([]);
    expect(fs.readdirSync(path.join(dir, 'mail/outbox/tmp'))).toEqual(['work1.busy.tmp']);
    // A runner lives long: a `mailbox send` killed meanwhile is swept when the queue looks again.
    fs.writeFileSync(tmp('gone2.4343-1.tmp'), 'half a message');
    expect(await q.claim(t0, 10)).toEqual([]);
    expect(fs.readdirSync(path.join(dir, 'mail/outbox/tmp'))).toEqual(['work1.busy.tmp']);
  });

  it('does not mark failed a message a live `mailbox send` has logged and not yet published', async () => {
    const q = queue();
    const record = await q.enqueue(message('slow'), { account: 'out', recipients: ['b@x.test'] });
    const [name] = outbox();
    fs.renameSync(path.join(dir, 'mail/outbox/new', name!), path.join(dir, 'mail/outbox/tmp', `${record.id}.busy.tmp`));
    expect(await queue().recover()).toEqual([]);
    expect((await log.readAll()).get(record.id)!.state).toBe('send-ready');
  });

  it('sends a message put into the outbox by hand, recipients from its headers', async () => {
    await files.prepare();
    fs.writeFileSync(path.join(dir, 'mail/outbox/new/handmade1,S=10'), message('hand'));
    fs.writeFileSync(path.join(dir, 'mail/outbox/new/handmade2'), message('no size in its name'));
    const due = await queue().claim(t0, 10);
    expect(due.map((m) => m.record)).toMatchObject([
      { id: 'handmade1', state: 'send-ready', recipients: ['b@x.test'], attempts: 1 },
      { id: 'handmade2', size: message('no size in its name').length },
    ]);
    expect(await due[1]!.content()).toEqual(message('no size in its name'));
  });

  it('claims a message queued by another process while it works through its listing', async () => {
    const q = queue();
    await q.enqueue(message('a'), { account: 'out', recipients: ['b@x.test'] });
    await q.enqueue(message('b'), { account: 'out', recipients: ['b@x.test'] });
    expect((await q.claim(t0, 1)).map((m) => m.record.subject)).toEqual(['a']);
    await queue().enqueue(message('c'), { account: 'out', recipients: ['b@x.test'] }); // `mailbox send` meanwhile
    expect((await q.claim(t0, 10)).map((m) => m.record.subject)).toEqual(['b']);
    expect((await q.claim(t0, 10)).map((m) => m.record.subject)).toEqual(['c']);
    expect(await q.claim(t0, 10)).toEqual([]);
  });
});
