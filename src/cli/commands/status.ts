// mailbox status: per account the last cycle and its result, the queue, and whether a runner runs.
import type { Command } from 'commander';
import { action, type ProgramEnv } from '../action.js';
import { reportProblems } from '../problems.js';
import { localTime } from '../time.js';
import { openCommandStores } from '../stores.js';

export function register(command: Command, penv: ProgramEnv): void {
  command
    .addHelpText(
      'after',
      `
JSON: {runner: {running, pid}, queue: {waiting, ready, retrying}, accounts: [{name, type, active, job, at, ok, summary, error, lastSuccessAt, lastError,
handOff: {dest, pending, failed} | null}]} (handOff: received mail waiting for, or refused by, the account's --deliver destination)

Examples:
  $ mailbox status
  $ mailbox status --json`,
    )
    .action(
      action(penv, async (ctx) => {
        const stores = await openCommandStores(ctx);
        const [{ accounts, problems }, status, waiting, pid] = await Promise.all([ctx.snapshot(), stores.status.load(), stores.queue.waiting(), stores.lock.holder()]);
        // Hand-offs to each account's destination (issue 13), read from the log only when some account has one.
        const handOffs = accounts.some((a) => a.deliver) ? await stores.handoffs.counts() : {};
        const json = {
          runner: { running: pid !== null, pid },
          queue: {
            waiting: waiting.length,
            ready: waiting.filter((r) => r.state === 'send-ready').length,
            retrying: waiting.filter((r) => r.state === 'send-retry-backoff').length,
          },
          accounts: accounts.map((a) => {
            const s = status.accounts[a.name.toLowerCase()];
            return {
              name: a.name,
              type: a.type,
              active: a.active,
              job: s?.job ?? null,
              at: s?.at ?? null,
              ok: s?.ok ?? null,
              summary: s?.summary ?? null,
              error: s?.error ?? null,
              lastSuccessAt: s?.lastSuccessAt ?? null,
              lastError: s?.lastError ?? null,
              handOff: a.deliver || handOffs[a.name.toLowerCase()] ? { dest: a.deliver ?? null, ...(handOffs[a.name.toLowerCase()] ?? { pending: 0, failed: 0 }) } : null,
            };
          }),
        };
        ctx.out.data(json, () => {
          const runner = pid === null ? 'runner: not running' : `runner: running (pid ${pid})`;
          const queue = `queue: ${json.queue.waiting} waiting (${json.queue.ready} ready, ${json.queue.retrying} retrying later)`;
          const rows = json.accounts.map((a) => [
            a.name,
            a.type,
            a.active ? 'yes' : 'no',
            a.at ? `${a.job} ${localTime(a.at)}` : 'never',
            a.ok === null ? '-' : a.ok ? 'ok' : 'FAILED',
            a.lastSuccessAt ? localTime(a.lastSuccessAt) : a.at ? 'never' : '-',
            a.error ?? a.summary ?? '-',
          ]);
          const columns = [
            { header: 'ACCOUNT' },
            { header: 'TYPE', drop: 1 },
            { header: 'ACTIVE', drop: 2 },
            { header: 'LAST' },
            { header: 'RESULT' },
            { header: 'LAST SUCCESS', drop: 3 },
            { header: 'DETAIL', shrink: true },
          ];
          const handOffLines = json.accounts.flatMap((a) => (a.handOff ? [`hand-off ${a.name} -> ${a.handOff.dest ?? '(no destination now)'}: ${a.handOff.pending} pending, ${a.handOff.failed} failed`] : []));
          return [runner, queue, ...(rows.length ? ['', ctx.out.table(columns, rows)] : []), ...(handOffLines.length ? ['', ...handOffLines] : [])].join('\n');
        });
        return reportProblems(ctx.out, problems);
      }),
    );
}
