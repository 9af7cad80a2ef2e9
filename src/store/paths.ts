// Where files live: XDG base directories by default, or everything under one folder (MAILBOX_HOME / --home).
import path from 'node:path';
import os from 'node:os';

export interface Paths {
  /** config.json: accounts, filters, settings (mode 0600). */
  configFile: string;
  /** provisioned.json beside the config, or MAILBOX_PROVISIONED. */
  provisionedFile: string;
  /** Maildir folders per view: mail/inbox, mail/outbox, ... */
  mailDir: string;
  /** Seen ids, the email log, run lock, status. */
  stateDir: string;
  /** Per-account debug logs (mode 0600). */
  logDir: string;
}

export function resolvePaths(env: NodeJS.ProcessEnv, homeOption?: string): Paths {
  const home = homeOption ?? env.MAILBOX_HOME;
  if (home) {
    const root = path.resolve(home);
    return {
      configFile: path.join(root, 'config.json'),
      provisionedFile: env.MAILBOX_PROVISIONED ? path.resolve(env.MAILBOX_PROVISIONED) : path.join(root, 'provisioned.json'),
      mailDir: path.join(root, 'mail'),
      stateDir: path.join(root, 'state'),
      logDir: path.join(root, 'state', 'logs'),
    };
  }
  const userHome = env.HOME ?? os.homedir();
  const xdg = (name: string, fallback: string): string => {
    const value = env[name];
    return value && path.isAbsolute(value) ? value : path.join(userHome, fallback);
  };
  const configDir = path.join(xdg('XDG_CONFIG_HOME', '.config'), 'mailbox');
  const stateDir = path.join(xdg('XDG_STATE_HOME', '.local/state'), 'mailbox');
  return {
    configFile: path.join(configDir, 'config.json'),
    provisionedFile: env.MAILBOX_PROVISIONED ? path.resolve(env.MAILBOX_PROVISIONED) : path.join(configDir, 'provisioned.json'),
    mailDir: path.join(xdg('XDG_DATA_HOME', '.local/share'), 'mailbox', 'mail'),
    stateDir,
    logDir: path.join(stateDir, 'logs'),
  };
}
