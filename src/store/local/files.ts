// Small file helpers every part of the local store shares: one error for a failed file operation,
// folders created one level at a time, state files opened without following links, an atomic
// small-file write, an append of lines, a folder fsync.
//
// State files (the email log, the seen state, status.json, the run lock) are never opened through a
// symbolic link, and must be plain files with one name: a link planted in state/ would otherwise make
// mailbox append to, rewrite or chmod a file of the attacker's choosing. Hand-written instead of
// write-file-atomic: it resolves links (realpath) and writes through them, and opens its temporary
// file without O_EXCL.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MailboxError } from '../../core/errors.js';
import { notPlainFile, unsafeToTrust } from '../../core/file-safety.js';

export const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

const { O_RDONLY, O_RDWR, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK } = constants;
/** O_NONBLOCK: a FIFO planted in place of a state file must not hang the open (it is then refused). */
const READ_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
const APPEND_FLAGS = O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK;

const DETAILS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a folder',
  ENOENT: 'no such file or folder',
};

export function ioError(action: string, file: string, err: unknown): MailboxError {
  const e = err as NodeJS.ErrnoException;
  const detail = (e.code && DETAILS[e.code]) ?? e.message;
  return new MailboxError('EIO', `cannot ${action} ${file}: ${detail}`, { cause: err });
}

/** Our effective uid, for the ownership checks; undefined where it cannot be learnt (no passwd entry). */
function selfUid(): number | undefined {
  try {
    return os.userInfo().uid;
  } catch {
    return undefined;
  }
}

/**
 * Creates `dir` and its missing parents (mode 0700), one level at a time. Not fs.mkdir's recursive
 * mode: on some file systems (under /proc) it loops forever instead of failing.
 */
export async function ensureDir(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    const st = await fs.stat(at).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw ioError('create', dir, err);
    });
    if (st) {
      if (!st.isDirectory()) throw ioError('create', dir, Object.assign(new Error('not a folder'), { code: 'ENOTDIR' }));
      break;
    }
    missing.push(at);
    if (path.dirname(at) === at) break;
  }
  for (const at of missing.reverse()) {
    try {
      await fs.mkdir(at, { mode: DIR_MODE });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      // Its parent exists, yet "no such file": a file system that takes no new folders (/proc).
      if (code === 'ENOENT') throw new MailboxError('EIO', `cannot create ${at}: the file system there does not allow it`, { cause: err });
      throw ioError('create', at, err);
    }
  }
}

/**
 * Refuses (78) a folder another user can write or owns, or a file another user can write; a missing
 * one is fine (mailbox creates it, 0700 or 0600).
 */
export async function checkPrivate(kind: 'folder' | 'file', target: string): Promise<void> {
  const st = await fs.stat(target).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw ioError('read', target, err);
  });
  const refusal = st && unsafeToTrust(kind, target, st, selfUid());
  if (refusal) throw refusal;
}

/**
 * Opens a state file without following a link: for reading (undefined when it does not exist) or
 * for appending (created 0600, and tightened to 0600 through the descriptor, never through a path).
 */
export async function openState(file: string, mode: 'read'): Promise<fs.FileHandle | undefined>;
export async function openState(file: string, mode: 'append'): Promise<fs.FileHandle>;
export async function openState(file: string, mode: 'read' | 'append'): Promise<fs.FileHandle | undefined> {
  if (mode === 'append') await ensureDir(path.dirname(file));
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, mode === 'read' ? READ_FLAGS : APPEND_FLAGS, FILE_MODE);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && mode === 'read') return undefined;
    if (code === 'ELOOP') throw notPlainFile(file, 'is a symbolic link');
    throw ioError(mode === 'read' ? 'read' : 'write', file, err);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notPlainFile(file, 'is not a plain file');
    if (st.nlink > 1) throw notPlainFile(file, `has ${st.nlink} names (hard links)`);
    if (mode === 'append' && (st.mode & 0o077) !== 0) await handle.chmod(FILE_MODE);
    return handle;
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err instanceof MailboxError ? err : ioError('read', file, err);
  }
}

/**
 * The file's text, or undefined when it does not exist. A state file is read without following a
 * link; `follow` is for files the user may keep elsewhere (config.json, provisioned.json).
 */
export async function readText(file: string, options: { follow?: boolean } = {}): Promise<string | undefined> {
  if (options.follow) {
    try {
      return await fs.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw ioError('read', file, err);
    }
  }
  const handle = await openState(file, 'read');
  if (!handle) return undefined;
  try {
    return await handle.readFile('utf8');
  } catch (err) {
    throw ioError('read', file, err);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** The file's JSON, or undefined when it does not exist; `invalid` says what text that is not JSON means. */
export async function readJson<T>(file: string, invalid: (err: Error) => MailboxError, options: { follow?: boolean } = {}): Promise<T | undefined> {
  const text = await readText(file, options);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw invalid(err as Error);
  }
}

/** Temporary files of writeAtomic: FILE.<12 hex>.tmp beside the file. */
const TMP_SUFFIX = /\.[0-9a-f]{12}\.tmp$/;

/**
 * Replaces a small file atomically (a new temporary file, renamed over it), mode 0600. With `fsync`
 * (the default) it is durable when this resolves, its folder included; without, a crash may leave the
 * previous version, never a torn one. A link at `file` is replaced, never written through, unless
 * `follow` (config.json may be a link the user keeps elsewhere: the file it names is replaced).
 */
export async function writeAtomic(file: string, text: string, options: { fsync?: boolean; follow?: boolean } = {}): Promise<void> {
  const target = options.follow ? await fs.realpath(file).catch(() => file) : file;
  const dir = path.dirname(target);
  await ensureDir(dir);
  const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  const durable = options.fsync ?? true;
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, FILE_MODE);
    await handle.writeFile(text, 'utf8');
    if (durable) await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, target);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw ioError('write', target, err);
  }
  if (durable) await syncDir(dir);
}

/** Removes the temporary files of writeAtomic that a killed writer left in `dir`; run where no other writer can be at work. */
export async function sweepTmp(dir: string): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => TMP_SUFFIX.test(n)).map((n) => fs.unlink(path.join(dir, n)).catch(() => undefined)));
}

/**
 * Appends lines in one write and fdatasyncs them. A line torn by a crash (no newline at the end of
 * the file) is closed first, so it is never glued to the next one.
 */
export async function appendLines(file: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const handle = await openState(file, 'append');
  try {
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
    await handle.close().catch(() => undefined);
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
