// What `mailbox status` shows: per account the last read or send cycle, its result and the last
// error. Written by the runner (the only writer, under the run lock) after every cycle.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DIR_MODE, FILE_MODE, ioError } from './maildir.js';

export interface CycleStatus {
  job: 'read' | 'send';
  /** When the last cycle ended, ISO 8601. */
  at: string;
  ok: boolean;
  /** One line: what was fetched, sent, skipped, failed. */
  summary: string;
  error: string | null;
  lastSuccessAt: string | null;
  lastError: { at: string; message: string } | null;
}

export interface RunStatus {
  accounts: Record<string, CycleStatus>;
}

export class RunStatusStore {
  constructor(readonly file: string) {}

  async load(): Promise<RunStatus> {
    try {
      const raw = JSON.parse(await fs.readFile(this.file, 'utf8')) as Partial<RunStatus>;
      return { accounts: raw.accounts ?? {} };
    } catch {
      return { accounts: {} };
    }
  }

  /** Replaces the file atomically (written once per cycle; losing the last one to a crash is harmless). */
  async save(status: RunStatus): Promise<void> {
    await fs.mkdir(path.dirname(this.file), { recursive: true, mode: DIR_MODE }).catch(() => undefined);
    const tmp = `${this.file}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.writeFile(tmp, `${JSON.stringify(status, null, 2)}\n`, { mode: FILE_MODE });
      await fs.rename(tmp, this.file);
    } catch (err) {
      await fs.unlink(tmp).catch(() => undefined);
      throw ioError('write', this.file, err);
    }
  }

  /** Folds one cycle's result into the account's entry. */
  static record(
    status: RunStatus,
    account: string,
    cycle: { job: 'read' | 'send'; at: Date; ok: boolean; summary: string; error: string | null },
  ): void {
    const previous = status.accounts[account.toLowerCase()];
    const at = cycle.at.toISOString();
    status.accounts[account.toLowerCase()] = {
      job: cycle.job,
      at,
      ok: cycle.ok,
      summary: cycle.summary,
      error: cycle.error,
      lastSuccessAt: cycle.ok ? at : (previous?.lastSuccessAt ?? null),
      lastError: cycle.error ? { at, message: cycle.error } : (previous?.lastError ?? null),
    };
  }
}
