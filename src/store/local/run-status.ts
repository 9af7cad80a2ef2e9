// state/status.json: what `mailbox status` shows, replaced whole by the runner after its cycles.
import type { RunStatus, RunStatusStore } from '../types.js';
import { readText, writeAtomic } from './files.js';

export class FileRunStatus implements RunStatusStore {
  constructor(readonly file: string) {}

  async load(): Promise<RunStatus> {
    // A file that cannot be read, or is refused (a link planted there), is an error; broken JSON is not.
    const text = await readText(this.file);
    try {
      const raw = JSON.parse(text ?? '{}') as Partial<RunStatus>;
      return { accounts: raw.accounts ?? {}, ...(raw.push ? { push: raw.push } : {}) };
    } catch {
      return { accounts: {} }; // torn or hand-broken: the next cycles write it afresh
    }
  }

  /** Not fsynced: written once per cycle, and losing the last one to a crash is harmless. */
  async save(status: RunStatus): Promise<void> {
    await writeAtomic(this.file, `${JSON.stringify(status, null, 2)}\n`, { fsync: false });
  }
}
