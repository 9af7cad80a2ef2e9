// Push for the runner: one AccountWatcher per incoming account that can push (IMAP, push not turned
// off for the account or the run), started, restarted and stopped as the accounts of the run change
// (synced every read cycle, so `mailbox edit` takes effect without a restart), the push state of
// every incoming account for `mailbox status`, and its open watching connections for the metrics.
import type { Account } from '../core/account.js';
import type { PushStatus } from '../store/types.js';
import { AccountWatcher, type PushSettings, type WatcherDeps } from './watcher.js';

export interface PushHooks {
  /** Read this account now: new mail was announced, or watching resumed after a drop. */
  read(account: Account, why: 'push' | 'resumed'): void;
  state(account: string, status: PushStatus | undefined): void;
  notice(text: string): void;
  /** The watching connections open for this account now (0 or 1; 2 for a moment while one replaces another). */
  connections?(account: string, open: number): void;
}

function polled(reason: string): PushStatus {
  return { mode: 'poll', state: null, since: null, lastEventAt: null, reconnects: 0, reason, folder: null };
}

/** What a new connection depends on: a change of any of these starts the watcher afresh. */
function identity(a: Account): string {
  return JSON.stringify([a.host, a.port, a.security, a.auth, a.user, a.secret, a.oauth, a.tokenStore, a.authMechanism, a.folder, a.folders, a.excludeFolders, a.tls, a.debug]);
}

export class Push {
  private readonly watchers = new Map<string, { watcher: AccountWatcher; identity: string }>();
  private readonly shown = new Set<string>();
  /** Open watching connections by account (lower case); a stopped watcher closes its own after a replacement may have opened. */
  private readonly open = new Map<string, number>();

  constructor(
    /** Undefined: push is turned off for this run. */
    private readonly deps: WatcherDeps | undefined,
    private readonly settings: PushSettings,
    private readonly hooks: PushHooks,
  ) {}

  /** Why this account is polled only, or undefined when it can be watched. */
  private pollReason(account: Account): string | undefined {
    if (account.type !== 'imap') return `${account.type.toUpperCase()} has no push`;
    if (account.push === false) return 'turned off for this account';
    if (!this.deps) return 'turned off for this run';
    return undefined;
  }

  /** The incoming accounts this run reads now (those with a configuration problem left out). */
  sync(accounts: readonly Account[]): void {
    const wanted = new Map<string, Account>();
    for (const account of accounts) {
      const key = account.name.toLowerCase();
      const reason = this.pollReason(account);
      if (reason === undefined) wanted.set(key, account);
      else {
        this.shown.add(key);
        this.hooks.state(account.name, polled(reason));
        this.hooks.connections?.(account.name, this.open.get(key) ?? 0);
      }
    }
    for (const [key, { watcher, identity: was }] of this.watchers) {
      const now = wanted.get(key);
      if (now && identity(now) === was) continue;
      this.watchers.delete(key);
      void watcher.stop();
    }
    for (const key of [...this.shown]) {
      if (!accounts.some((a) => a.name.toLowerCase() === key)) {
        this.shown.delete(key);
        this.hooks.state(key, undefined);
      }
    }
    for (const [key, account] of wanted) {
      if (this.watchers.has(key)) continue;
      const watcher = new AccountWatcher(account, this.deps!, this.settings, {
        newMail: () => this.hooks.read(account, 'push'),
        resumed: () => this.hooks.read(account, 'resumed'),
        state: (status) => this.hooks.state(account.name, status),
        notice: (text) => this.hooks.notice(text),
        connection: (open) => {
          const n = (this.open.get(key) ?? 0) + (open ? 1 : -1);
          this.open.set(key, n);
          this.hooks.connections?.(account.name, n);
        },
      });
      this.watchers.set(key, { watcher, identity: identity(account) });
      this.shown.add(key);
      this.hooks.connections?.(account.name, this.open.get(key) ?? 0);
      watcher.start();
    }
  }

  /** Connections held open: one per watched account at most. */
  get watching(): number {
    return this.watchers.size;
  }

  async stop(): Promise<void> {
    const all = [...this.watchers.values()];
    this.watchers.clear();
    await Promise.all(all.map(({ watcher }) => watcher.stop()));
  }
}
