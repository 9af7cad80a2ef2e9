import { describe, expect, it } from 'vitest';
import { MailboxError } from '../../src/core/errors.js';
import { ACCOUNT_FLAGS } from '../../src/cli/account-flags.js';
import { errorJson, fixFlag, hintText } from '../../src/cli/hints.js';

const untrusted = new MailboxError('ETLS', 'not trusted', {
  hint: 'trust its CA, or pin its certificate after checking it out of band',
  fixes: [{ field: 'ca', value: 'FILE' }, { field: 'fingerprint', value: 'SHA256' }],
  account: 'work',
});

describe('hints worded by the CLI', () => {
  it('words fixes as edit commands for an account that exists', () => {
    expect(hintText(untrusted)).toBe('trust its CA, or pin its certificate after checking it out of band: mailbox edit work --ca FILE, or mailbox edit work --fingerprint SHA256');
  });

  it('words fixes as "add again" for an account that was not saved', () => {
    expect(hintText(untrusted, { command: 'add' })).toBe(
      'trust its CA, or pin its certificate after checking it out of band: run mailbox add again with --ca FILE, or with --fingerprint SHA256',
    );
  });

  it('maps fields to their flags, a new secret to --password-stdin', () => {
    const auth = new MailboxError('EAUTH', 'refused', { hint: 'check the user name; store a new password', fixes: [{ field: 'password' }], account: 'pop' });
    expect(hintText(auth)).toBe('check the user name; store a new password: mailbox edit pop --password-stdin');
    expect(hintText({ fixes: [{ field: 'maxMessageSize', value: '20MB' }], account: 'a' })).toBe('mailbox edit a --max-size 20MB');
  });

  it('keeps a hint without fixes as it is, and puts the worded hint into --json errors', () => {
    expect(hintText({ hint: 'try again later' })).toBe('try again later');
    expect(hintText({})).toBeNull();
    expect(errorJson(untrusted).hint).toContain('mailbox edit work --ca FILE');
    expect(errorJson(untrusted)).toMatchObject({ code: 'ETLS', exit: 76, message: 'not trusted', field: null });
  });
});

describe('the flags of fixes come from the flag table', () => {
  it('every account field lower layers name has a flag of its own', () => {
    const fields = ['host', 'port', 'security', 'auth', 'user', 'password', 'passwordEnv', 'passwordCommand', 'from', 'filter', 'folder', 'ca', 'fingerprint', 'insecure', 'maxMessageSize', 'deleteAfterDownload', 'debug'];
    for (const field of fields) expect(ACCOUNT_FLAGS.some((f) => f.field === field), field).toBe(true);
    expect(fixFlag({ field: 'passwordCommand', value: '"CMD"' })).toBe('--password-command "CMD"');
    expect(fixFlag({ field: 'folder' })).toBe('--folder FOLDER');
  });

  it('switches: the value picks the flag; clear is --no-X, or "without" for an account being added', () => {
    expect(fixFlag({ field: 'deleteAfterDownload', value: 'false' })).toBe('--keep-on-server');
    expect(fixFlag({ field: 'deleteAfterDownload' })).toBe('--delete-after-download');
    expect(fixFlag({ field: 'insecure', clear: true })).toBe('--no-insecure');
    expect(fixFlag({ field: 'filter', clear: true })).toBe('--no-filter');
    expect(fixFlag({ field: 'filter', clear: true }, 'add')).toBe('without --filter');
    expect(fixFlag({ field: 'name', value: 'OTHER' }, 'add')).toBe('--name OTHER');
  });

  it('an edit that was not saved is run again with the flag', () => {
    expect(hintText(untrusted, { command: 'edit', account: 'work' })).toBe(
      'trust its CA, or pin its certificate after checking it out of band: run mailbox edit work again with --ca FILE, or with --fingerprint SHA256',
    );
    const filter = { hint: 'name an inbound filter', fixes: [{ field: 'filter', value: 'OTHER' }, { field: 'filter', clear: true }], account: 'in' };
    expect(hintText(filter, { command: 'add' })).toBe('name an inbound filter: run mailbox add again with --filter OTHER, or without --filter');
    expect(hintText(filter)).toBe('name an inbound filter: mailbox edit in --filter OTHER, or mailbox edit in --no-filter');
  });

  it('a field no flag sets is still named as a flag', () => {
    expect(hintText({ fixes: [{ field: 'tlsMinVersion', value: '1.2' }], account: 'a' })).toBe('mailbox edit a --tls-min-version 1.2');
  });
});
