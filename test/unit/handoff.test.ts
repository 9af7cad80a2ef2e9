// Issue 13 in the small: destination text, IMAP LIST patterns and folder choice, source ids, what an
// attempt makes of a record, and the hand-off job on the memory store (a stop leaves a hand-off
// pending and uncounted; a missing file is refused; records are settled one by one).
import { describe, expect, it } from 'vitest';
import type { Account } from '../../src/core/account.js';
import { parseDestination, destinationText, type HandOffResult, type HandOffTarget } from '../../src/core/destination.js';
import { folderMatches, foldersToRead, folderToWatch, imapSourceId, parseImapSourceId } from '../../src/core/imap-folders.js';
import { secretFreeEnv } from '../../src/jobs/destinations.js';
import { handOffDue } from '../../src/jobs/handoff.js';
import { HANDOFF_MAX_ATTEMPTS, handOffSettled, pendingHandOff } from '../../src/store/handoff-rules.js';
import { openMemoryStores } from '../../src/store/memory/index.js';
import { summarize } from '../../src/store/message-headers.js';
import { receivedRecord } from '../../src/store/records.js';

const t0 = new Date('2025-01-01T00:00:00Z');

describe('destinations', () => {
  it('parses each kind and writes it back the same', () => {
    for (const text of ['maildir:/srv/mail/x', 'mda:/usr/lib/dovecot/dovecot-lda -d alice', 'lmtp:127.0.0.1:24', 'lmtp:[::1]:2424', 'lmtp:unix:/run/dovecot/lmtp', 'lmtp:mail.example.com:24']) {
      expect(destinationText(parseDestination(text))).toBe(text);
    }
    expect(parseDestination('MDA:  procmail  ')).toEqual({ kind: 'mda', command: 'procmail' });
    expect(parseDestination('maildir:/srv/x/')).toEqual({ kind: 'maildir', path: '/srv/x' });
  });

  it('refuses what it cannot hand to, naming the field, the value and what is accepted', () => {
    expect(() => parseDestination('smtp:x')).toThrow('invalid deliver "smtp:x": expected maildir:/PATH, mda:COMMAND, lmtp:HOST:PORT or lmtp:unix:/PATH');
    expect(() => parseDestination('maildir:relative/path')).toThrow(/invalid deliver .*ABSOLUTE/);
    expect(() => parseDestination('mda:')).toThrow(/mda:COMMAND/);
    expect(() => parseDestination('lmtp:host')).toThrow(/lmtp:HOST:PORT/);
    expect(() => parseDestination('lmtp:host:99999')).toThrow('invalid deliver "lmtp:host:99999": expected lmtp:HOST:PORT with a port from 1 to 65535');
    expect(() => parseDestination('lmtp:unix:relative')).toThrow(/ABSOLUTE/);
  });
});

describe('the environment of an MDA', () => {
  it('holds no variable that carries a secret: the accounts\' and profiles\' env sources, the token key, the database password', () => {
    const env = { PATH: '/usr/bin', HOME: '/home/a', ACC_PW: 'x', CLIENT_SECRET: 'y', MAILBOX_TOKEN_KEY: 'k', MAILBOX_DATABASE_URL: 'postgres://u:pw@db/m', PGPASSWORD: 'pw', MAILBOX_HOME: '/m' };
    const accounts = [{ secret: { kind: 'env' as const, name: 'ACC_PW' } }, { secret: { kind: 'keychain' as const, service: 'mailbox', key: 'x' } }];
    const profiles = [{ clientSecret: { kind: 'env' as const, name: 'CLIENT_SECRET' } }, { clientSecret: null }];
    expect(secretFreeEnv(env, accounts as never, profiles as never)).toEqual({ PATH: '/usr/bin', HOME: '/home/a', MAILBOX_HOME: '/m' });
  });
});

describe('several IMAP folders', () => {
  it('LIST wildcards: * crosses levels, % does not, INBOX in any case', () => {
    expect(folderMatches('Support/*', 'Support/A/Old')).toBe(true);
    expect(folderMatches('Support/%', 'Support/A/Old')).toBe(false);
    expect(folderMatches('Support/%', 'Support/A')).toBe(true);
    expect(folderMatches('Support/%', 'Support.A', '.')).toBe(false);
    expect(folderMatches('inbox', 'INBOX')).toBe(true);
    expect(folderMatches('*', 'Ablage/Verträge')).toBe(true);
    expect(folderMatches('A.B', 'AxB')).toBe(false); // regex characters are literal
  });

  it('folders read: names kept even when not listed (so a gone one is reported), patterns matched, exclusions applied, no repeats', () => {
    const listed = ['INBOX', 'Support', 'Support/A', 'Support/B', 'Other'].map((name) => ({ name, delimiter: '/' }));
    expect(foldersToRead({ folder: 'INBOX' }, listed)).toEqual(['INBOX']);
    expect(foldersToRead({ folder: 'INBOX', folders: ['INBOX', 'Support/*', 'Gone'], excludeFolders: ['Support/B'] }, listed)).toEqual(['INBOX', 'Support/A', 'Gone']);
    expect(foldersToRead({ folder: 'INBOX', folders: ['*'], excludeFolders: ['Support*'] }, listed)).toEqual(['INBOX', 'Other']);
    expect(foldersToRead({ folder: 'INBOX', folders: ['Other', 'Other', 'Oth%'] }, listed)).toEqual(['Other']);
  });

  it('the folder push watches: the first folder read now, among those listed (named ones in their order); none while nothing matches', () => {
    const listed = ['INBOX', 'Support/A', 'Support/B', 'Other'].map((name) => ({ name, delimiter: '/' }));
    expect(folderToWatch({ folder: 'Tickets' }, [])).toBe('Tickets');
    expect(folderToWatch({ folder: 'INBOX', folders: ['Support/*'] }, listed)).toBe('Support/A');
    expect(folderToWatch({ folder: 'INBOX', folders: ['Other', 'Support/A'] }, listed)).toBe('Other');
    expect(folderToWatch({ folder: 'INBOX', folders: ['Gone', 'Support/B'] }, listed)).toBe('Support/B');
    expect(folderToWatch({ folder: 'INBOX', folders: ['Support/*'], excludeFolders: ['Support/A'] }, listed)).toBe('Support/B');
    expect(folderToWatch({ folder: 'INBOX', folders: ['Support/*'] }, listed.filter((l) => !l.name.startsWith('Support')))).toBeUndefined();
    expect(folderToWatch({ folder: 'INBOX', folders: ['Gone'] }, listed)).toBeUndefined();
  });

  it("source ids: the account's own folder keeps UIDVALIDITY/UID, others carry their folder", () => {
    expect(imapSourceId(7, 42, 'INBOX', 'INBOX')).toBe('7/42');
    expect(imapSourceId(7, 42, 'Support/A', 'INBOX')).toBe('7/42/Support/A');
    expect(parseImapSourceId('7/42')).toEqual({ uidValidity: 7, uid: 42, folder: null });
    expect(parseImapSourceId('7/42/Support/A')).toEqual({ uidValidity: 7, uid: 42, folder: 'Support/A' });
  });
});

describe('what an attempt makes of a record', () => {
  const record = { ...receivedRecord({ id: 'm1', size: 10, file: 'm1' }, summarize(Buffer.from('From: a@x\r\n\r\n')), 'work', '1/1', null, t0, { dest: 'mda:x' }) };

  it('delivered; retried after the SMTP back-off, then every 2 hours for 5 days in all, then given up; refused for good', () => {
    expect(record.handoff).toEqual(pendingHandOff('mda:x'));
    expect(handOffSettled(record, { kind: 'delivered', reply: 'ok' }, t0).handoff).toMatchObject({ state: 'delivered', attempts: 1 });
    const retry = handOffSettled(record, { kind: 'retry', error: 'busy' }, t0);
    expect(retry).toMatchObject({ state: 'received', handoff: { state: 'pending', attempts: 1, error: 'busy', nextAttempt: '2025-01-01T00:01:00.000Z' } });
    // After the SMTP schedule (about 6 hours) every 2 hours, for 5 days in all: then given up.
    const afterSchedule = handOffSettled({ ...record, handoff: { ...record.handoff!, attempts: 8 } }, { kind: 'retry', error: 'busy' }, t0);
    expect(afterSchedule).toMatchObject({ state: 'received', handoff: { state: 'pending', attempts: 9, nextAttempt: '2025-01-01T02:00:00.000Z' } });
    let minutes = 0;
    let r = record;
    while (r.state === 'received') {
      r = handOffSettled(r, { kind: 'retry', error: 'busy' }, new Date(t0.getTime() + minutes * 60_000));
      if (r.handoff!.nextAttempt) minutes = (Date.parse(r.handoff!.nextAttempt) - t0.getTime()) / 60_000;
    }
    expect(minutes / 60 / 24).toBeGreaterThan(4.9);
    expect(minutes / 60 / 24).toBeLessThanOrEqual(5);
    expect(r).toMatchObject({ state: 'delivery-failed', error: `hand-off to mda:x failed: gave up after ${HANDOFF_MAX_ATTEMPTS} attempts: busy`, handoff: { state: 'failed', nextAttempt: null } });
    expect(handOffSettled(record, { kind: 'failed', error: 'exited 65' }, t0)).toMatchObject({ state: 'delivery-failed', error: 'hand-off to mda:x failed: exited 65' });
  });
});

describe('the hand-off job (memory store)', () => {
  async function withMessages(n: number) {
    const stores = openMemoryStores({ clock: () => t0 });
    const messages = [];
    for (let i = 1; i <= n; i++) {
      const body = Buffer.from(`From: s@x.test\r\nSubject: ${i}\r\n\r\nbody ${i}\r\n`);
      const staged = await stores.incoming.stage(body, { account: 'work', id: `1/${i}` });
      messages.push({ staged, record: receivedRecord(staged, summarize(body), 'work', `1/${i}`, null, t0, { dest: 'mda:x', folder: 'INBOX' }) });
    }
    await stores.incoming.commit({ account: 'work', messages, seen: { pop3: [] } });
    return stores;
  }
  const account = { name: 'work', type: 'imap', user: 'alice', folder: 'INBOX', deliver: 'mda:x' } as Account;

  function target(answers: HandOffResult[], seen: string[]): HandOffTarget {
    return {
      async deliver(content, envelope) {
        const chunks: Buffer[] = [];
        for await (const c of content) chunks.push(c);
        seen.push(`${envelope.sourceId} ${envelope.folder} ${envelope.recipient} ${Buffer.concat(chunks).toString().split('\r\n')[1]}`);
        return answers.shift() ?? { kind: 'delivered', reply: 'ok' };
      },
      check: async () => ({ ok: true, detail: 'fake' }),
      close: async () => undefined,
    };
  }

  it('hands each message off once (a few at once), with its envelope; all recorded delivered', async () => {
    const stores = await withMessages(6);
    const seen: string[] = [];
    const opened: number[] = [];
    const summary = await handOffDue(account, { stores, open: () => (opened.push(1), target([], seen)), clock: () => t0 });
    expect(summary).toMatchObject({ delivered: 6, retrying: 0, failed: 0 });
    expect(opened.length).toBe(4); // four at once, each with its own connection or command
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6].map((i) => `work/1/${i} INBOX alice Subject: ${i}`));
    expect(await stores.handoffs.due('work', t0)).toEqual([]);
    expect([...(await stores.log.readAll()).values()].every((r) => r.handoff?.state === 'delivered' && r.handoff.attempts === 1)).toBe(true);
  });

  it('a stop leaves the hand-offs pending and uncounted', async () => {
    const stores = await withMessages(2);
    const summary = await handOffDue(account, { stores, open: () => target([{ kind: 'stopped' }, { kind: 'stopped' }], []), clock: () => t0 });
    expect(summary).toMatchObject({ delivered: 0, retrying: 0, failed: 0 });
    expect((await stores.handoffs.due('work', t0)).map((r) => [r.source, r.handoff!.attempts])).toEqual([
      ['1/1', 0],
      ['1/2', 0],
    ]);
  });

  it('a message whose file is missing is refused (delivery-failed), the others go on', async () => {
    const stores = await withMessages(2);
    const [first] = await stores.handoffs.due('work', t0);
    stores.incoming.messages.delete(first!.id);
    const summary = await handOffDue({ ...account, deliverTo: 'ops@x.test' }, { stores, open: () => target([], []), clock: () => t0 });
    expect(summary).toMatchObject({ delivered: 1, failed: 1 });
    expect((await stores.log.readAll()).get(first!.id)).toMatchObject({ state: 'delivery-failed', error: 'hand-off to mda:x failed: the message file is missing from the store' });
  });

  it('an account without a destination hands nothing off', async () => {
    const stores = await withMessages(1);
    expect(await handOffDue({ ...account, deliver: undefined }, { stores, open: () => target([], []), clock: () => t0 })).toMatchObject({ delivered: 0 });
    expect(await stores.handoffs.due('work', t0)).toHaveLength(1);
  });
});
