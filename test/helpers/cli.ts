// Runs the real built executable (bin/mailbox) the way a user or a CI script would.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { storeEnv } from './store.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(REPO, 'bin', 'mailbox');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** stdout as the bytes written (stdout is them decoded as UTF-8). */
  stdoutBytes: Buffer;
  stderr: string;
}

export interface RunOptions {
  home?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, then stdin is closed (stdin is never a terminal here). */
  input?: string | Buffer;
  timeoutMs?: number;
}

/** A fresh MAILBOX_HOME, removed by the returned cleanup. */
export function tmpHome(prefix = 'mailbox-test-'): { home: string; cleanup: () => void } {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { home, cleanup: () => fs.rmSync(home, { recursive: true, force: true }) };
}

/**
 * Environment for the child: no colour, no inherited MAILBOX_* or secrets from the developer's shell;
 * the database of its MAILBOX_HOME when the test file runs on the database store (helpers/store.ts).
 */
export function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of ['PATH', 'LANG', 'TMPDIR', 'HOME', 'DBUS_SESSION_BUS_ADDRESS']) if (process.env[key]) env[key] = process.env[key];
  return { ...env, NO_COLOR: '1', ...storeEnv(extra.MAILBOX_HOME), ...extra };
}

export function runMailbox(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const env = baseEnv({ ...(opts.home ? { MAILBOX_HOME: opts.home } : {}), ...opts.env });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Every file under `dir` as one string, for "no secret anywhere" assertions. */
export function readTree(dir: string): string {
  if (!fs.existsSync(dir)) return '';
  let all = '';
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) all += fs.readFileSync(path.join(entry.parentPath, entry.name)).toString('latin1');
  }
  return all;
}
