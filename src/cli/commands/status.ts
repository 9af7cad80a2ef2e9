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
JSON: {runner: {running, pid}, queue: {waiting, ready, retrying}, accounts: [{name, type, active, job, at, ok, summary, error, lastSuccessAt, lastError}]}
On a database store (a fleet) also workers: [{id, host, pid, startedAt, heartbeat, alive}], and per
incoming account worker: the id of the worker holding its lease (null: none now).

Examples:
  $ mailbox status
  $ mailbox status --json`,
    )
    .action(
      action(penv, async (ctx) => {
        const stores = await openCommandStores(ctx);
        const [{ accounts, problems }, status, waiting, pid, fleet] = await Promise.all([
          ctx.snapshot(),
          stores.status.load(),
          stores.queue.waiting(),
          stores.lock.holder(),
          stores.lock.fleet?.(),
        ]);
        const workerOf = (name: string) => fleet?.holders[name.toLowerCase()] ?? null;
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
              ...(fleet && a.type !== 'smtp' ? { worker: workerOf(a.name) } : {}),
            };
          }),
          ...(fleet ? { workers: fleet.workers } : {}),
        };
        ctx.out.data(json, () => {
          const live = fleet?.workers.filter((w) => w.alive) ?? [];
          const runner = pid === null ? 'runner: not running' : fleet ? `runner: ${live.length} worker(s)` : `runner: running (pid ${pid})`;
          const shortId = (id: string | null) => (id ? id.slice(0, 8) : '-');
          const workerLines = (fleet?.workers ?? []).map(
            (w) => `worker ${shortId(w.id)}: pid ${w.pid} on ${w.host}, started ${localTime(w.startedAt)}, last heartbeat ${localTime(w.heartbeat)}${w.alive ? '' : ' (dead)'}`,
          );
          const queue = `queue: ${json.queue.waiting} waiting (${json.queue.ready} ready, ${json.queue.retrying} retrying later)`;
          const rows = json.accounts.map((a) => [
            a.name,
            a.type,
            a.active ? 'yes' : 'no',
            a.at ? `${a.job} ${localTime(a.at)}` : 'never',
            a.ok === null ? '-' : a.ok ? 'ok' : 'FAILED',
            a.lastSuccessAt ? localTime(a.lastSuccessAt) : a.at ? 'never' : '-',
            ...(fleet ? [a.type === 'smtp' ? '-' : shortId(workerOf(a.name))] : []),
            a.error ?? a.summary ?? '-',
          ]);
          const columns = [
            { header: 'ACCOUNT' },
            { header: 'TYPE', drop: 1 },
            { header: 'ACTIVE', drop: 2 },
            { header: 'LAST' },
            { header: 'RESULT' },
            { header: 'LAST SUCCESS', drop: 3 },
            ...(fleet ? [{ header: 'WORKER', drop: 4 }] : []),
            { header: 'DETAIL', shrink: true },
          ];
          return [runner, ...workerLines, queue, ...(rows.length ? ['', ctx.out.table(columns, rows)] : [])].join('\n');
        });
        return reportProblems(ctx.out, problems);
      }),
    );
}
