// Everything a command needs, built once per invocation from the process edge and passed in.
import { readAccounts, type AccountStores, type AccountsSnapshot } from '../jobs/accounts/stores.js';
import { ConfigStore, loadProvisioned } from '../store/config-store.js';
import { resolvePaths, type Paths } from '../store/paths.js';
import type { SecretStore } from '../store/secrets.js';
import type { Io } from './io.js';
import { createPrinter, type Printer } from './printer.js';
import { terminalPrompter, type Prompter } from './prompter.js';
import { cliSecretStore } from './stores.js';

export interface GlobalOptions {
  json?: boolean;
  home?: string;
}

export interface Context {
  io: Io;
  env: NodeJS.ProcessEnv;
  out: Printer;
  paths: Paths;
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
  const config = new ConfigStore(paths.configFile);
  const secrets = cliSecretStore(io);
  const accounts: AccountStores = { config, provisioned: () => loadProvisioned(paths.provisionedFile), secrets };
  return {
    io,
    env: io.env,
    out: createPrinter({ json: Boolean(globals.json), stdout: io.stdout, stderr: io.stderr, env: io.env }),
    paths,
    secrets,
    accounts,
    interactive: Boolean(io.stdin.isTTY && io.stderr.isTTY),
    prompter: terminalPrompter(io),
    cwd: process.cwd(),
    now: () => new Date(),
    snapshot: () => readAccounts(accounts),
  };
}
