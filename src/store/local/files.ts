// Small file helpers every part of the local store shares: one error for a failed file operation,
// JSON read, an atomic small-file write, an append of lines, a folder fsync.
import fs from 'node:fs/promises';
import path from 'node:path';
import { MailboxError } from '../../core/errors.js';

export const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

export function ioError(action: string, file: string, err: unknown): MailboxError {
  const e = err as NodeJS.ErrnoException;
  const detail = e.code === 'EACCES' ? 'permission denied' : e.code === 'ENOSPC' ? 'no space left on device' : e.message;
  return new MailboxError('EIO', `cannot ${action} ${file}: ${detail}`, { cause: err });
}

export async function ensureDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: DIR_MODE }).catch((err) => {
    throw ioError('create', dir, err);
  });
}

/** The file's text, or undefined when it does not exist. */
export async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError('read', file, err);
  }
}

/** The file's JSON, or undefined when it does not exist; `invalid` says what text that is not JSON means. */
export async function readJson<T>(file: string, invalid: (err: Error) => MailboxError): Promise<T | undefined> {
  const text = await readText(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw invalid(err as Error);
  }
}

/**
 * Replaces a small file atomically (temporary file, rename), mode 0600. With `fsync` (the default) it
 * is durable when this resolves; without, a crash may leave the previous version, never a torn one.
 */
export async function writeAtomic(file: string, text: string, options: { fsync?: boolean } = {}): Promise<void> {
  await ensureDir(path.dirname(file));
  // Loaded on first write only: commands that only read should not pay for it at start-up.
  const { default: writeFileAtomic } = await import('write-file-atomic');
  try {
    await writeFileAtomic(file, text, { mode: FILE_MODE, fsync: options.fsync ?? true });
  } catch (err) {
    throw ioError('write', file, err);
  }
}

/**
 * Appends lines in one write and fdatasyncs them. A line torn by a crash (no newline at the end of
 * the file) is closed first, so it is never glued to the next one.
 */
export async function appendLines(file: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  await ensureDir(path.dirname(file));
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(file, 'a+', FILE_MODE);
    const { size } = await handle.stat();
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    await handle.write(`${prefix}${lines.join('\n')}\n`);
    await handle.datasync();
  } catch (err) {
    throw ioError('write', file, err);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Makes the entries of a folder (files created, renamed, removed) durable. */
export async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('sync', dir, err);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
