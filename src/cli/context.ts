// Everything a command needs, built once per invocation from the process edge and passed in.
import type { Readable, Writable } from 'node:stream';
import type { AccountView } from '../core/account.js';
import type { AccountsDocument, Config } from '../core/config.js';
import { accountViews, filterViews } from '../core/rules.js';
import type { AddressFilter } from '../core/filter.js';
import { ConfigStore, loadProvisioned } from '../store/config-store.js';
import { resolvePaths, type Paths } from '../store/paths.js';
import { createSecretStore, type SecretStore } from '../store/secrets.js';
import { createPrinter, type Printer } from './printer.js';
import { terminalPrompter, type Prompter } from './prompter.js';

export interface Io {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export interface GlobalOptions {
  json?: boolean;
  home?: string;
}

export interface AccountsSnapshot {
  config: Config;
  /** The administrator's read-only document (provisioned.json). */
  provisioned: AccountsDocument;
  accounts: AccountView[];
  filters: (AddressFilter & { provisioned: boolean })[];
}

export interface Context {
  io: Io;
  env: NodeJS.ProcessEnv;
  out: Printer;
  paths: Paths;
  config: ConfigStore;
  secrets: SecretStore;
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
  return {
    io,
    env: io.env,
    out: createPrinter({ json: Boolean(globals.json), stdout: io.stdout, stderr: io.stderr, env: io.env }),
    paths,
    config,
    secrets: createSecretStore(io.env),
    interactive: Boolean(io.stdin.isTTY && io.stderr.isTTY),
    prompter: terminalPrompter(io),
    cwd: process.cwd(),
    now: () => new Date(),
    async snapshot() {
      const [cfg, prov] = await Promise.all([config.load(), loadProvisioned(paths.provisionedFile)]);
      return {
        config: cfg,
        provisioned: prov,
        accounts: accountViews(cfg, prov.accounts),
        filters: filterViews(cfg, prov.filters),
      };
    },
  };
}
