// One refresh at a time per account, across processes: a lock file per account under the state
// folder (proper-lockfile, as config.json uses), whichever store keeps the tokens. A second process
// waits, then reads the tokens the first one stored instead of spending the same refresh token.
import path from 'node:path';
import { MailboxError } from '../../core/errors.js';
import { ensureDir } from '../local/files.js';
import type { TokenLocks } from './types.js';

/** Longer than one token request may take (its own timeout is 30 s), so a waiter never gives up early. */
const WAIT_MS = 90_000;

export function fileTokenLocks(dir: string): TokenLocks {
  return {
    async exclusive(account, body) {
      await ensureDir(dir);
      const file = path.join(dir, `${encodeURIComponent(account.toLowerCase())}.refresh`);
      const { default: lockfile } = await import('proper-lockfile');
      let release: () => Promise<void>;
      try {
        release = await lockfile.lock(file, {
          realpath: false,
          // A holder that was killed leaves a lock nobody renews: taken over after this long.
          stale: 20_000,
          update: 5_000,
          retries: { retries: Math.ceil(WAIT_MS / 200), factor: 1, minTimeout: 50, maxTimeout: 200, randomize: true },
        });
      } catch (err) {
        throw new MailboxError('ELOCKED', `account ${account}: another mailbox process is refreshing its OAuth token and did not finish in time`, { account, hint: 'try again', cause: err });
      }
      try {
        return await body();
      } finally {
        await release().catch(() => undefined);
      }
    },
  };
}
