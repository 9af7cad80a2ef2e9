import { describe, expect, it } from 'vitest';
import { MailboxError } from '../../src/core/errors.js';
import { errorJson, hintText } from '../../src/cli/hints.js';

describe('hints worded by the CLI', () => {
  const untrusted = new MailboxError('ETLS', 'not trusted', {
    hint: 'trust its CA, or pin its certificate after checking it out of band',
    fixes: [{ field: 'ca', value: 'FILE' }, { field: 'fingerprint', value: 'SHA256' }],
    account: 'work',
  });

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
