// Push logic on fakes (the real IDLE connection is tested against Dovecot in test/e2e/run-push*.ts):
// the back-off, the token renewal time, the watcher's debounce, keepalive, reconnects with a fresh
// credential each time, an account with no folder to watch yet, the connections counted for the
// metrics, and the runner's push reads (folded with reads in flight, said in the report).
import { describe, expect, it } from 'vitest';
import type { AccountView } from '../../src/core/account.js';
import type { Credentials } from '../../src/jobs/credentials.js';
import type { CycleReport } from '../../src/jobs/cycles.js';
import { Runner } from '../../src/jobs/runner.js';
import { AccountWatcher, backoffMs, DEFAULT_PUSH, NO_FOLDER_YET, renewDelayMs, type PushSettings, type WatcherHooks } from '../../src/jobs/watcher.js';
import type { OpenWatch } from '../../src/protocols/open.js';
import type { FolderWatch } from '../../src/protocols/types.js';
import type { PushStatus } from '../../src/store/types.js';
import { openMemoryStores } from '../../src/store/memory/index.js';
import { FakeImap, mail } from '../helpers/fake-mail.js';
import { runnerDeps } from '../helpers/runner-deps.js';

const account: AccountView = { name: 'work', type: 'imap', host: 'h', port: 993, security: 'tls', auth: 'password', active: true, debug: false, tls: {}, provisioned: false, secret: { kind: 'env', name: 'PW' }, folder: 'INBOX' };
const fast: PushSettings = { ...DEFAULT_PUSH, keepaliveMs: 200, debounceMs: 150, settleMs: 20, backoffFirstMs: 30, backoffMaxMs: 100, stableMs: 10_000 };
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await wait(5);
  }
}

/** A scripted FolderWatch: announce() is new mail; silent makes refresh() hang until its deadline; bye() ends it. */
class FakeWatch implements FolderWatch {
  refreshes = 0;
  idles = 0;
  silent = false;
  private end!: (err: Error) => void;
  readonly closed = new Promise<Error>((resolve) => (this.end = resolve));
  constructor(
    readonly canIdle: boolean,
    readonly announce: () => void,
    readonly folder = 'INBOX',
  ) {}
  idle(): void {
    this.idles++;
  }
  async refresh(deadlineMs: number): Promise<void> {
    this.refreshes++;
    if (this.silent) {
      await wait(deadlineMs);
      this.end(new Error('no answer to NOOP'));
      throw new Error('no answer to NOOP');
    }
    this.idle();
  }
  bye(): void {
    this.end(new Error('the server said BYE'));
  }
  close(): void {
    this.end(new Error('closed'));
  }
}

/** `noFolderFor`: the first connections find none of the account's folders (nothing to watch). */
function world(options: { canIdle?: boolean; expiresInMs?: number; noFolderFor?: number } = {}) {
  const watches: FakeWatch[] = [];
  const states: PushStatus[] = [];
  const secrets: string[] = [];
  const connections: boolean[] = [];
  let reads = 0;
  let resumed = 0;
  let looked = 0;
  const openWatch: OpenWatch = async (_account, o) => {
    secrets.push(o.secret ?? '');
    if (looked++ < (options.noFolderFor ?? 0)) return null;
    const w = new FakeWatch(options.canIdle ?? true, o.onNewMail, options.noFolderFor ? 'Support/A' : 'INBOX');
    watches.push(w);
    return w;
  };
  let n = 0;
  const credentials: Credentials = {
    get: async () => ({ secret: `token-${++n}`, ...(options.expiresInMs ? { token: { token: `token-${n}`, source: 'cached', store: 'keychain', profile: 'p', expiresAt: Date.now() + options.expiresInMs } } : {}) }),
    retry: async () => undefined,
  };
  const hooks: WatcherHooks = { newMail: () => reads++, resumed: () => resumed++, state: (s) => states.push(s), connection: (open) => connections.push(open) };
  const deps = { openWatch, credentials, debugLog: async () => undefined, clock: () => new Date(), monotonic: () => performance.now(), random: () => 0.5 };
  return { watches, states, secrets, connections, deps, hooks, reads: () => reads, resumed: () => resumed, looked: () => looked };
}

describe('push timing', () => {
  it('back-off doubles from the first step up to the maximum, jittered within its upper half', () => {
    const s = { backoffFirstMs: 1000, backoffMaxMs: 300_000 };
    expect([0, 1, 2, 3].map((a) => backoffMs(a, s, () => 0))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffMs(3, s, () => 0.999)).toBeGreaterThan(7900);
    expect(backoffMs(40, s, () => 0)).toBe(150_000);
    expect(backoffMs(40, s, () => 0.999)).toBeLessThanOrEqual(300_000);
  });

  it('an OAuth connection is renewed once the token manager would refresh the token, or at 3/4 of a short life', () => {
    const now = 1_000_000;
    const token = (ms: number) => ({ secret: 't', token: { token: 't', source: 'cached' as const, store: 'keychain' as const, profile: 'p', expiresAt: now + ms } });
    expect(renewDelayMs({ secret: 'pw' }, now)).toBeUndefined();
    expect(renewDelayMs(token(3_600_000), now)).toBe(3_600_000 - 5 * 60_000 + 1000);
    expect(renewDelayMs(token(120_000), now)).toBe(90_000);
    expect(renewDelayMs(token(1000), now)).toBe(5000);
  });
});

describe('AccountWatcher', () => {
  it('a burst of announcements is one read after the settle time; the next within the debounce interval waits for it', async () => {
    const w = world();
    const watcher = new AccountWatcher(account, w.deps, fast, w.hooks);
    watcher.start();
    await until(() => w.states.some((s) => s.state === 'watching'));
    for (let i = 0; i < 5; i++) w.watches[0]!.announce();
    await wait(60);
    expect(w.reads()).toBe(1);
    w.watches[0]!.announce();
    await wait(40);
    expect(w.reads()).toBe(1);
    await until(() => w.reads() === 2, 500);
    expect(w.states.at(-1)!.lastEventAt).toEqual(expect.any(String));
    await watcher.stop();
  });

  it('a server without IDLE: polled, said why, and no connection kept', async () => {
    const w = world({ canIdle: false });
    const watcher = new AccountWatcher(account, w.deps, fast, w.hooks);
    watcher.start();
    await until(() => w.states.some((s) => s.mode === 'poll'));
    await wait(100);
    expect(w.watches).toHaveLength(1);
    expect(w.states.at(-1)).toMatchObject({ mode: 'poll', reason: 'the server does not offer IDLE' });
    await watcher.stop();
  });

  it('no folder to watch yet: polled, said why, nothing counted open; looked for again at each back-off step, then watched and read at once', async () => {
    const w = world({ noFolderFor: 3 });
    const watcher = new AccountWatcher(account, w.deps, fast, w.hooks);
    watcher.start();
    await until(() => w.states.some((s) => s.mode === 'poll'));
    expect(w.states.find((s) => s.mode === 'poll')).toMatchObject({ state: null, reason: NO_FOLDER_YET, folder: null, reconnects: 0 });
    expect(w.connections).toEqual([]);
    await until(() => w.states.at(-1)?.state === 'watching', 2000);
    expect(w.looked()).toBe(4);
    expect(w.states.at(-1)).toMatchObject({ mode: 'push', state: 'watching', folder: 'Support/A', reason: null, reconnects: 0 });
    // Mail may have come into the folder before it was watched.
    expect(w.resumed()).toBe(1);
    expect(w.connections).toEqual([true]);
    await watcher.stop();
    expect(w.connections).toEqual([true, false]);
  });

  it('keepalive: refreshed every half keepalive; a silent connection is dropped within the keepalive and replaced with a fresh credential; the read after it', async () => {
    const w = world();
    const watcher = new AccountWatcher(account, w.deps, fast, w.hooks);
    watcher.start();
    await until(() => w.watches[0]?.refreshes === 2, 1000);
    w.watches[0]!.silent = true;
    const silent = Date.now();
    await until(() => w.watches.length === 2 && w.states.at(-1)?.state === 'watching', 2000);
    // Noticed within the keepalive (200 ms), plus the back-off (up to 30 ms here).
    expect(Date.now() - silent).toBeLessThan(200 + 100 + 100);
    expect(w.secrets).toEqual(['token-1', 'token-2']);
    expect(w.resumed()).toBe(1);
    expect(w.states.find((s) => s.state === 'reconnecting')).toMatchObject({ reconnects: 1, reason: 'no answer to NOOP', folder: null });
    // The connection counted open while it watched, closed when it was dropped.
    expect(w.connections).toEqual([true, false, true]);
    await watcher.stop();
  });

  it('a BYE: reconnects with a growing back-off, and never gives up', async () => {
    const w = world();
    const watcher = new AccountWatcher(account, w.deps, fast, w.hooks);
    watcher.start();
    for (let i = 1; i <= 4; i++) {
      await until(() => w.watches.length === i && w.states.at(-1)?.state === 'watching', 2000);
      w.watches[i - 1]!.bye();
    }
    await until(() => w.watches.length === 5, 2000);
    expect(w.states.filter((s) => s.state === 'reconnecting').map((s) => s.reconnects)).toEqual([1, 2, 3, 4]);
    await watcher.stop();
    const after = w.watches.length;
    await wait(150);
    expect(w.watches.length).toBe(after);
  });

  it('the run log hears of three failed connections in a row (not of one drop that mends itself), and of the recovery', async () => {
    const w = world();
    const notices: string[] = [];
    let refusals = 0;
    const openWatch: OpenWatch = async (account, o) => {
      if (refusals > 0) {
        refusals--;
        throw new Error('connection refused');
      }
      return w.deps.openWatch(account, o);
    };
    const watcher = new AccountWatcher(account, { ...w.deps, openWatch }, fast, { ...w.hooks, notice: (t) => notices.push(t) });
    watcher.start();
    await until(() => w.watches.length === 1 && w.states.at(-1)?.state === 'watching');
    w.watches[0]!.bye();
    await until(() => w.watches.length === 2 && w.states.at(-1)?.state === 'watching');
    expect(notices).toEqual([]);
    refusals = 2;
    w.watches[1]!.bye();
    await until(() => w.watches.length === 3 && w.states.at(-1)?.state === 'watching', 2000);
    expect(notices).toEqual([
      'push for work: 3 connections in a row failed (connection refused); it is read at the read interval meanwhile, and reconnects go on',
      'push for work: watching again',
    ]);
    await watcher.stop();
  });

  it('an OAuth token about to expire: a new connection with a new token, at once', async () => {
    const w = world({ expiresInMs: 300 });
    const watcher = new AccountWatcher(account, { ...w.deps }, { ...fast, keepaliveMs: 60_000, renewFloorMs: 100 }, w.hooks);
    watcher.start();
    // Renewed at 3/4 of its life (225 ms), long before the keepalive.
    await until(() => w.watches.length >= 2, 1000);
    expect(w.secrets.slice(0, 2)).toEqual(['token-1', 'token-2']);
    expect(w.states.find((s) => s.state === 'reconnecting')?.reason).toBe('the access token is due for renewal');
    await watcher.stop();
  });
});

describe('runner with push', () => {
  it('an announcement reads the account at once (the report says push), folded with a read in flight; the push state is cleared at the stop', async () => {
    const stores = openMemoryStores();
    const server = new FakeImap();
    const reports: CycleReport[] = [];
    const gauge = new Map<string, number>();
    let announce: () => void = () => undefined;
    const runner = new Runner(
      runnerDeps(
        stores,
        async () => ({ accounts: [account], filters: [] }),
        {
          openIncoming: async () => server,
          openOutgoing: async () => Promise.reject(new Error('no smtp')),
          openWatch: async (_a, o) => {
            announce = o.onNewMail;
            return new FakeWatch(true, o.onNewMail);
          },
        },
        reports,
        { pushConnections: (name, open) => gauge.set(name, open) },
      ),
    );
    const stop = new AbortController();
    const running = runner.run({ once: false, readIntervalMs: 60_000, sendIntervalMs: 60_000, accounts: [], signal: stop.signal, push: { enabled: true, settings: { settleMs: 10, debounceMs: 50 } } });
    await until(() => stores.status.status.push?.work?.state === 'watching' && reports.length === 1);
    expect(stores.status.status.push?.work?.folder).toBe('INBOX');
    expect(gauge.get('work')).toBe(1);
    server.add(mail(1), mail(2));
    announce();
    announce();
    await until(() => reports.length === 2);
    expect(reports[1]).toMatchObject({ job: 'read', trigger: 'push', counts: { received: 2 } });
    expect(reports[0]!.trigger).toBeUndefined();
    await wait(150);
    expect(reports).toHaveLength(2);
    stop.abort();
    expect(await running).toBe(0);
    expect(stores.status.status.push).toBeUndefined();
    expect(gauge.get('work')).toBe(0);
  });

  it('--no-push: every account polled, and status says why', async () => {
    const stores = openMemoryStores();
    const accounts: AccountView[] = [account, { ...account, name: 'pop', type: 'pop3', port: 995, folder: undefined }, { ...account, name: 'off', push: false }];
    const gauge = new Map<string, number>();
    const runner = new Runner(
      runnerDeps(stores, async () => ({ accounts, filters: [] }), { openIncoming: async () => new FakeImap(), openOutgoing: async () => Promise.reject(new Error('x')) }, [], {
        pushConnections: (name, open) => gauge.set(name, open),
      }),
    );
    const stop = new AbortController();
    const running = runner.run({ once: false, readIntervalMs: 60_000, sendIntervalMs: 60_000, accounts: [], signal: stop.signal, push: { enabled: false } });
    await until(() => Object.keys(stores.status.status.push ?? {}).length === 3);
    expect(Object.fromEntries(Object.entries(stores.status.status.push!).map(([k, v]) => [k, v.reason]))).toEqual({ work: 'turned off for this run', pop: 'POP3 has no push', off: 'turned off for this account' });
    expect(Object.fromEntries(gauge)).toEqual({ work: 0, pop: 0, off: 0 });
    stop.abort();
    await running;
  });
});
