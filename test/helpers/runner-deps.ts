// The runner's dependencies for unit tests on the memory store: fakes everywhere, real clocks.
import type { Adapters, CycleReport } from '../../src/jobs/cycles.js';
import type { RunnerDeps, Snapshot } from '../../src/jobs/runner.js';
import type { Stores } from '../../src/store/types.js';

export function runnerDeps(stores: Stores, snapshot: () => Promise<Snapshot>, adapters: Pick<Adapters, 'openIncoming' | 'openOutgoing'> & Partial<Adapters>, reports: CycleReport[], over: Partial<RunnerDeps> = {}): RunnerDeps {
  return {
    stores,
    snapshot,
    secrets: { resolve: async () => 'pw' },
    adapters: { preload: () => undefined, sendFailure: (err) => err as never, ...adapters },
    debugLog: async () => undefined,
    clock: () => new Date(),
    monotonic: () => performance.now(),
    report: (r) => reports.push(r),
    notice: () => undefined,
    ...over,
  };
}
