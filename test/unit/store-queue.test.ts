import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileEmailLog } from '../../src/store/email-log.js';
import { LocalMailStore } from '../../src/store/mail-store.js';
import { LocalQueue } from '../../src/store/queue.js';

let dir: string;
let mail: LocalMailStore;
let log: FileEmailLog;
const t0 = new Date('2025-01-01T00:00:00Z');
const minutes = (n: number) => new Date(t0.getTime() + n * 60_000);
const message = (subject: string) => Buffer.from(`From: a@x.test\r\nTo: b@x.test\r\nSubject: ${subject}\r\n\r\nbody\r\n`);

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-queue-'));
  mail = new LocalMailStore(path.join(dir, 'mail'));
  await mail.prepare();
  log = new FileEmailLog(path.join(dir, 'emails.jsonl'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const queue = () => new LocalQueue(mail, log, () => t0);

describe('queue', () => {
  it('queues send-ready with the envelope, and settles sent into the sent box', async () => {
    const q = queue();
    const record = await q.enqueue(message('one'), { account: 'out', recipients: ['b@x.test', 'hidden@x.test'] });
    expect(record).toMatchObject({ state: 'send-ready', subject: 'one', to: ['b@x.test'], recipients: ['b@x.test', 'hidden@x.test'] });
    const due = await q.due(t0);
    expect(due.map((d) => d.record.id)).toEqual([record.id]);
    await q.begin(due, t0);
    const [settled] = await q.settle([{ message: due[0]!, outcome: { kind: 'sent', reply: '250 queued as X1', account: 'out' } }], t0);
    expect(settled!.record).toMatchObject({ state: 'sent', reply: '250 queued as X1', attempts: 1, inFlight: null });
    expect(await mail.list('outbox')).toEqual([]);
    expect((await mail.list('sent')).map((f) => f.id)).toEqual([record.id]);
    expect((await log.readAll()).get(record.id)!.state).toBe('sent');
  });

  it('backs off 1, 5, 10, 20, 40, 60, 120, 120 minutes on temporary failures, then fails', async () => {
    const q = queue();
    const record = await q.enqueue(message('retry'), { account: 'out', recipients: ['b@x.test'] });
    const waits = [1, 5, 10, 20, 40, 60, 120, 120];
    let now = t0;
    for (const wait of waits) {
      const [due] = await q.due(now);
      expect(due?.record.id).toBe(record.id);
      await q.begin([due!], now);
      const [s] = await q.settle([{ message: due!, outcome: { kind: 'retry', error: '451 try later' } }], now);
      expect(s!.record.state).toBe('send-retry-backoff');
      expect(Date.parse(s!.record.nextAttempt!) - now.getTime()).toBe(wait * 60_000);
      expect(await q.due(new Date(now.getTime() + wait * 60_000 - 1))).toEqual([]);
      now = new Date(now.getTime() + wait * 60_000);
    }
    const [last] = await q.due(now);
    await q.begin([last!], now);
    const [s] = await q.settle([{ message: last!, outcome: { kind: 'retry', error: '451 try later' } }], now);
    expect(s).toMatchObject({ gaveUp: true, record: { state: 'send-failed', attempts: 9 } });
    expect(s!.record.error).toContain('451 try later');
    expect((await mail.list('failed')).length).toBe(1);
  });

  it('sends again a message found in flight after a crash', async () => {
    const record = await queue().enqueue(message('crash'), { account: 'out', recipients: ['b@x.test'] });
    const q1 = queue();
    const due = await q1.due(t0);
    await q1.begin(due, t0); // then SIGKILL: no settle
    const q2 = queue();
    await q2.recover();
    const again = await q2.due(minutes(0));
    expect(again.map((d) => d.record.id)).toEqual([record.id]);
    expect(again[0]!.record.inFlight).toBeTruthy();
  });

  it('repairs a stop between moving a sent message and logging it', async () => {
    const q = queue();
    const record = await q.enqueue(message('moved'), { account: 'out', recipients: ['b@x.test'] });
    await mail.move(record.file, 'outbox', 'sent'); // place() done, then a crash before commit()
    const notes = await queue().recover();
    expect(notes.join()).toContain(record.id);
    expect((await log.readAll()).get(record.id)!.state).toBe('sent');
  });

  it('retry puts a failed message back in the queue; other states are refused', async () => {
    const q = queue();
    const record = await q.enqueue(message('fail'), { account: 'out', recipients: ['b@x.test'] });
    const due = await q.due(t0);
    await q.settle([{ message: due[0]!, outcome: { kind: 'failed', error: '550 no such user' } }], t0);
    const requeued = await queue().requeue(record.id, minutes(3));
    expect(requeued).toMatchObject({ state: 'send-ready', attempts: 0, error: null });
    expect((await mail.list('outbox')).map((f) => f.id)).toEqual([record.id]);
    expect((await queue().due(minutes(3))).length).toBe(1);
    await expect(queue().requeue(record.id, minutes(4))).rejects.toThrow(/send-ready/);
  });

  it('sends a message put into the outbox by hand, recipients from its headers', async () => {
    fs.writeFileSync(path.join(dir, 'mail/outbox/new/handmade1,S=10'), message('hand'));
    const [due] = await queue().due(t0);
    expect(due!.record).toMatchObject({ id: 'handmade1', state: 'send-ready', recipients: ['b@x.test'] });
  });
});
