// mailbox status: per account the last cycle and its result, the queue, and whether a runner runs.
import type { Command } from 'commander';
import { action, type ProgramEnv } from '../action.js';
import { reportProblems } from '../problems.js';
import { localTime } from '../time.js';
import { openCommandStores } from '../stores.js';
import type { PushStatus } from '../../store/types.js';

/** "watching since 10:00, last mail 10:05, 2 reconnects", "poll: the server does not offer IDLE", or "-". */
function pushCell(push: PushStatus | null): string {
  if (!push) return '-';
  if (push.mode === 'poll') return `poll: ${push.reason ?? ''}`;
  const parts = [push.state === 'watching' && push.since ? `watching since ${localTime(push.since)}` : `${push.state ?? 'connecting'}${push.reason ? ` (${push.reason})` : ''}`];
  if (push.lastEventAt) parts.push(`last mail ${localTime(push.lastEventAt)}`);
  if (push.reconnects) parts.push(`${push.reconnects} reconnect${push.reconnects === 1 ? '' : 's'}`);
  return parts.join(', ');
}

export function register(command: Command, penv: ProgramEnv): void {
  command
    .addHelpText(
      'after',
      `
JSON: {runner: {running, pid}, queue: {waiting, ready, retrying}, accounts: [{name, type, active, job, at, ok, summary, error, lastSuccessAt, lastError, push}]}
push (incoming accounts of a running runner, else null): {mode: push|poll, state: connecting|watching|reconnecting|null,
since, lastEventAt, reconnects, reason}

Examples:
  $ mailbox status
  $ mailbox status --json`,
    )
    .action(
      action(penv, async (ctx) => {
        const stores = await openCommandStores(ctx);
        const [{ accounts, problems }, status, waiting, pid] = await Promise.all([ctx.snapshot(), stores.status.load(), stores.queue.waiting(), stores.lock.holder()]);
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
              // The runner clears it when it stops; one killed leaves it behind, which a stopped runner makes moot.
              push: pid !== null ? (status.push?.[a.name.toLowerCase()] ?? null) : null,
            };
          }),
        };
        ctx.out.data(json, () => {
          const runner = pid === null ? 'runner: not running' : `runner: running (pid ${pid})`;
          const queue = `queue: ${json.queue.waiting} waiting (${json.queue.ready} ready, ${json.queue.retrying} retrying later)`;
          // Push states exist only while a runner runs: without one, the column would say nothing.
          const withPush = json.accounts.some((a) => a.push !== null);
          const rows = json.accounts.map((a) => [
            a.name,
            a.type,
            a.active ? 'yes' : 'no',
            a.at ? `${a.job} ${localTime(a.at)}` : 'never',
            a.ok === null ? '-' : a.ok ? 'ok' : 'FAILED',
            a.lastSuccessAt ? localTime(a.lastSuccessAt) : a.at ? 'never' : '-',
            ...(withPush ? [pushCell(a.push)] : []),
            a.error ?? a.summary ?? '-',
          ]);
          const columns = [
            { header: 'ACCOUNT' },
            { header: 'TYPE', drop: 1 },
            { header: 'ACTIVE', drop: 2 },
            { header: 'LAST' },
            { header: 'RESULT' },
            { header: 'LAST SUCCESS', drop: 3 },
            ...(withPush ? [{ header: 'PUSH', shrink: true }] : []),
            { header: 'DETAIL', shrink: true },
          ];
          return [runner, queue, ...(rows.length ? ['', ctx.out.table(columns, rows)] : [])].join('\n');
        });
        return reportProblems(ctx.out, problems);
      }),
    );
}
