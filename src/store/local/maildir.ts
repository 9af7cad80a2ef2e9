// One Maildir folder (tmp/, new/, cur/). A message is written into tmp/, fsynced, then renamed into
// new/, so no reader ever sees a partial file and a crash leaves at worst an orphan in tmp/.
// Renames become durable with sync() (one directory fsync per batch, not per message).
import fs from 'node:fs/promises';
import path from 'node:path';
import { ensureDir, FILE_MODE, ioError, syncDir } from './files.js';

export type MaildirSub = 'tmp' | 'new' | 'cur';

export interface MaildirEntry {
  /** The file name as on disk (may carry ":2,FLAGS" once a mail client moved it to cur/). */
  name: string;
  sub: 'new' | 'cur';
}

/** Strips the Maildir info suffix (":2,S") that mail clients add in cur/. */
export function baseName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(0, colon);
}

export class Maildir {
  constructor(readonly dir: string) {}

  path(sub: MaildirSub, name: string): string {
    return path.join(this.dir, sub, name);
  }

  async ensure(): Promise<void> {
    for (const sub of ['tmp', 'new', 'cur'] as const) await ensureDir(path.join(this.dir, sub));
  }

  /** Writes `data` to tmp/NAME and fsyncs it; returns the byte count. Removes the file on failure. */
  async writeTmp(name: string, data: Buffer | AsyncIterable<Buffer>, onChunk?: (chunk: Buffer) => void): Promise<number> {
    const file = this.path('tmp', name);
    let handle: fs.FileHandle | undefined;
    let size = 0;
    try {
      handle = await fs.open(file, 'wx', FILE_MODE);
      if (Buffer.isBuffer(data)) {
        onChunk?.(data);
        await handle.write(data);
        size = data.length;
      } else {
        for await (const chunk of data) {
          onChunk?.(chunk);
          await handle.write(chunk);
          size += chunk.length;
        }
      }
      await handle.datasync();
      await handle.close();
      handle = undefined;
      return size;
    } catch (err) {
      await handle?.close().catch(() => undefined);
      await fs.unlink(file).catch(() => undefined);
      if ((err as NodeJS.ErrnoException).syscall) throw ioError('write', file, err);
      throw err;
    }
  }

  /** Moves tmp/NAME to `target` (new/ of this or another Maildir on the same file system): atomic. */
  async publishTo(tmpName: string, target: string): Promise<void> {
    await this.renameTo(this.path('tmp', tmpName), target);
  }

  async renameTo(from: string, target: string): Promise<void> {
    try {
      await fs.rename(from, target);
    } catch (err) {
      throw ioError('store', target, err);
    }
  }

  async discardTmp(name: string): Promise<void> {
    await fs.unlink(this.path('tmp', name)).catch(() => undefined);
  }

  /** Makes the renames into new/ and cur/ durable. */
  async sync(): Promise<void> {
    for (const sub of ['new', 'cur'] as const) await syncDir(path.join(this.dir, sub));
  }

  /** Every message in new/ and cur/. */
  async list(): Promise<MaildirEntry[]> {
    const entries: MaildirEntry[] = [];
    for (const sub of ['new', 'cur'] as const) {
      const dir = path.join(this.dir, sub);
      try {
        for (const name of await fs.readdir(dir)) if (!name.startsWith('.')) entries.push({ name, sub });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('read', dir, err);
      }
    }
    return entries;
  }

  /** Where the message whose file name starts with `base` is now (new/ or, after a client read it, cur/). */
  async locate(base: string): Promise<string | undefined> {
    try {
      await fs.access(this.path('new', base));
      return this.path('new', base);
    } catch {
      // a mail client may have moved it to cur/ and appended flags
    }
    const dir = path.join(this.dir, 'cur');
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    const found = names.find((n) => n === base || n.startsWith(`${base}:`));
    return found ? path.join(dir, found) : undefined;
  }

  /** Every file in tmp/, with when it was last written. */
  async tmpFiles(): Promise<Array<{ name: string; path: string; mtimeMs: number }>> {
    const dir = path.join(this.dir, 'tmp');
    const found: Array<{ name: string; path: string; mtimeMs: number }> = [];
    for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
      const file = path.join(dir, name);
      const stat = await fs.lstat(file).catch(() => undefined);
      if (stat) found.push({ name, path: file, mtimeMs: stat.mtimeMs });
    }
    return found;
  }

  /** Removes every file in tmp/ (a folder only this process writes in now). */
  async clearTmp(): Promise<void> {
    await Promise.all((await this.tmpFiles()).map((f) => fs.unlink(f.path).catch(() => undefined)));
  }
}
