// A wrong folder (issue 9 friction): `mailbox test` lists the server's folders in the hint and names
// the one probably meant; `mailbox run` fails the same way (78, the folder setting), not another.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hintText } from '../../src/cli/hints.js';
import type { Account } from '../../src/core/account.js';
import { foldersOf } from '../../src/protocols/imap/folders.js';
import { decodeMailboxName, encodeMailboxName } from '../../src/protocols/imap/syntax.js';
import { openIncoming } from '../../src/protocols/open.js';
import { probeAccount } from '../../src/protocols/probe/index.js';
import { startDovecot, type Dovecot } from '../harness/index.js';
import { expectFailure } from '../helpers/robustness.js';
import { imapAccount } from './run-fixtures.js';

let dovecot: Dovecot;

beforeAll(async () => {
  dovecot = await startDovecot();
  for (const folder of ['Old Mail', 'Ablage/Verträge']) await dovecot.doveadm(['mailbox', 'create', '-u', 'alice', folder]);
});
afterAll(async () => {
  await dovecot?.stop();
});

function account(folder: string): Account {
  return imapAccount(dovecot, { name: 'work', folder });
}

async function probeFolder(folder: string) {
  const r = await probeAccount(account(folder), { secret: async () => 'alice-secret', timeoutMs: 5000 });
  expect(r).toMatchObject({ exitCode: 78, error: { code: 'ECONFIG' } });
  expect(r.stages.at(-1)).toMatchObject({ name: 'probe', ok: false });
  return { error: r.error!, hint: hintText(r.error!) ?? '' };
}

describe('mailbox test, a folder the server does not have', () => {
  it('lists the folders the server has', async () => {
    const { error, hint } = await probeFolder('Archiv');
    expect(error.message).toMatch(/^account work: folder Archiv cannot be opened: /);
    expect(hint).toMatch(/^check the folder name; the server has (INBOX|Drafts|Sent|Trash|Junk|Old Mail|Ablage\/Verträge)(, (INBOX|Drafts|Sent|Trash|Junk|Old Mail|Ablage|Ablage\/Verträge))+: mailbox edit work --folder NAME$/);
    for (const folder of ['INBOX', 'Sent', 'Old Mail', 'Ablage/Verträge']) expect(hint).toContain(folder);
  });

  it('names the folder probably meant: another case, or the last part of a path; quoted when it has a blank', async () => {
    expect((await probeFolder('sent')).hint).toMatch(/^the folder is probably Sent; the server has .*: mailbox edit work --folder Sent$/);
    expect((await probeFolder('Verträge')).hint).toMatch(/^the folder is probably Ablage\/Verträge; .*: mailbox edit work --folder Ablage\/Verträge$/);
    expect((await probeFolder('old mail')).hint).toMatch(/: mailbox edit work --folder "Old Mail"$/);
  });
});

describe('mailbox test, an account that reads several folders', () => {
  const several = (folders: string[], excludeFolders?: string[]) => probeAccount(imapAccount(dovecot, { name: 'work', folders, excludeFolders }), { secret: async () => 'alice-secret', timeoutMs: 5000 });

  it('names the folders a cycle would read now, patterns matched as the reader matches them; a pattern that matches nothing yet is said, not refused', async () => {
    const r = await several(['inbox', 'Ablage/*', 'Old Mail', 'Nothing/*'], ['Ablage/Old*']);
    expect(r.exitCode, JSON.stringify(r.error)).toBe(0);
    const stage = r.stages.find((s) => s.name === 'probe')!;
    expect(stage.data).toMatchObject({ folders: ['inbox', 'Ablage/Verträge', 'Old Mail'] });
    expect(stage.detail).toMatch(/; reads 3 folder\(s\): inbox, Ablage\/Verträge, Old Mail; no folder matches Nothing\/\* yet$/);
  });

  it('a named folder the server does not have: 78 as for the own folder, naming it, the folders the server has, and the one probably meant', async () => {
    const r = await several(['INBOX', 'Ablage/*', 'verträge']);
    expect(r).toMatchObject({ exitCode: 78, error: { code: 'ECONFIG' } });
    expect(r.error!.message).toBe('account work: folder verträge, one of the folders it reads, cannot be opened: the server does not list it');
    const hint = hintText(r.error!) ?? '';
    expect(hint).toMatch(/^the folder is probably Ablage\/Verträge; the server has .*Old Mail/);
    // No single --folder replaces one of several: no flag is suggested.
    expect(hint).not.toContain('--folder');
  });
});

describe('mailbox run, the same folder', () => {
  it('fails as the test does: 78, the folder setting to fix', async () => {
    const incoming = await openIncoming(account('Archiv'), { secret: 'alice-secret', timeoutMs: 5000 });
    try {
      const err = await expectFailure(incoming.list());
      expect(err).toMatchObject({ code: 'ECONFIG', exitCode: 78, fixes: [{ field: 'folder', value: 'NAME' }] });
    } finally {
      incoming.abort();
    }
  });
});

describe('LIST replies', () => {
  it('quoted names, atoms, literals, modified UTF-7; \\Noselect left out', () => {
    expect(
      foldersOf([
        '* LIST (\\HasNoChildren) "/" "INBOX"',
        '* LIST (\\HasChildren \\Noselect) "/" Ablage',
        `* LIST (\\HasNoChildren) "/" "Ablage/${encodeMailboxName('Verträge')}"`,
        '* LIST () "." {9}\r\nOld "Mail',
        '* LIST (\\HasNoChildren) NIL Sent',
        '* STATUS "INBOX" (MESSAGES 1)',
      ]),
    ).toEqual(['INBOX', 'Ablage/Verträge', 'Old "Mail', 'Sent']);
    expect(decodeMailboxName('a&-b&AOQ-')).toBe('a&bä');
    expect(decodeMailboxName(encodeMailboxName('日本語 & Ü'))).toBe('日本語 & Ü');
  });
});
