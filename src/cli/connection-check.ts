// The connection test `add` and `edit` run before saving (skipped with --no-test): the staged
// probe of `mailbox test`, with the secret being saved. On a terminal a failure shows the
// diagnosis and asks whether to save anyway; without one the account is not saved and the
// command exits with the test's code. The diagnosis goes to stderr: stdout carries the data.
import type { Account } from '../core/account.js';
import type { Context } from './context.js';
import { probeJson, renderProbe, runProbe } from './probe-view.js';

export async function checkConnection(ctx: Context, account: Account, secret: string | undefined): Promise<{ ok: boolean; exitCode: number }> {
  const result = await runProbe(ctx, account, { secret });
  for (const warning of result.warnings) ctx.out.warn(`account ${account.name}: ${warning}`);
  if (result.ok) {
    ctx.out.info(`connection test of ${account.name}: ok (${result.ms} ms)`);
    return { ok: true, exitCode: 0 };
  }
  ctx.out.info(ctx.out.json ? JSON.stringify({ test: probeJson(result) }) : renderProbe(result, ctx.out.color));
  if (ctx.interactive) {
    const save = await ctx.prompter.confirm({ message: `The connection test of ${account.name} failed (${result.error!.code}). Save the account anyway?`, default: false });
    if (save) return { ok: true, exitCode: 0 };
  }
  return { ok: false, exitCode: result.exitCode };
}
