// The connection test `add` and `edit` run before saving (skipped with --no-test).
// Stub until `mailbox test` (issue 3) lands: it then runs the staged probe and reports.
import type { Account } from '../core/account.js';
import type { Context } from './context.js';

export async function checkConnection(_ctx: Context, _account: Account, _secret: string | undefined): Promise<{ ok: boolean; exitCode: number }> {
  return { ok: true, exitCode: 0 };
}
