// Everything a command needs, built once per invocation from the process edge and passed in.
import { readAccounts, type AccountStores, type AccountsSnapshot } from '../jobs/accounts/stores.js';
import { loadProvisioned } from '../store/config-store.js';
import { resolvePaths, type Paths } from '../store/paths.js';
import type { SecretStore } from '../store/secrets.js';
import type { Io } from './io.js';
import { createPrinter, type Printer } from './printer.js';
import { terminalPrompter, type Prompter } from './prompter.js';
import { cliSecretStore, commandStore, type CommandStore } from './stores.js';

export interface GlobalOptions {
  json?: boolean;
  home?: string;
  database?: string;
}

export interface Context {
  io: Io;
  env: NodeJS.ProcessEnv;
  out: Printer;
  paths: Paths;
  /** The store: the local files, or the database of --database / MAILBOX_DATABASE_URL. */
  store: CommandStore;
  secrets: SecretStore;
  /** What the account use cases work on (src/jobs/accounts). */
  accounts: AccountStores;
  /** Prompts only when both ends are a terminal; scripts and CI never get asked. */
  interactive: boolean;
  /** Asks the wizard's questions (on stderr); only used when `interactive`. */
  prompter: Prompter;
  /** The working directory relative paths (--ca FILE, apply -f FILE) are resolved against. */
  cwd: string;
  now: () => Date;
  /** Reads config and provisioned accounts together. */
  snapshot(): Promise<AccountsSnapshot>;
}

export function createContext(io: Io, globals: GlobalOptions): Context {
  const paths = resolvePaths(io.env, globals.home);
  const now = () => new Date();
  const store = commandStore(paths, globals.database || io.env.MAILBOX_DATABASE_URL || undefined, now);
  const config = store.config;
  const secrets = cliSecretStore(io);
  const accounts: AccountStores = { config, provisioned: () => loadProvisioned(paths.provisionedFile), secrets };
  return {
    io,
    env: io.env,
    out: createPrinter({ json: Boolean(globals.json), stdout: io.stdout, stderr: io.stderr, env: io.env }),
    paths,
    store,
    secrets,
    accounts,
    interactive: Boolean(io.stdin.isTTY && io.stderr.isTTY),
    prompter: terminalPrompter(io),
    cwd: process.cwd(),
    now,
    snapshot: () => readAccounts(accounts),
  };
}
