// The local store's file helpers against the real file system, as a hostile neighbour would meet them:
// state files are never opened through a link (or a hard link, or a FIFO), an atomic write replaces a
// link instead of writing through it, folders are made a level at a time (and fail at once where they
// cannot be), folders and files others can write are refused, the config lock waits only for another
// command, and a config kept elsewhere through a link is still written where it lives.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAccount } from '../../src/core/account.js';
import { openDebugLog } from '../../src/protocols/debug-log.js';
import { ConfigStore } from '../../src/store/config-store.js';
import { appendLines, checkPrivate, ensureDir, readText, sweepTmp, writeAtomic } from '../../src/store/local/files.js';

let dir: string;
let outside: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-files-'));
  outside = path.join(dir, 'outside');
  fs.writeFileSync(outside, 'precious\n', { mode: 0o644 });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function intact(): void {
  expect(fs.readFileSync(outside, 'utf8')).toBe('precious\n');
  expect(fs.statSync(outside).mode & 0o777).toBe(0o644);
}

describe('state files', () => {
  it('an atomic write replaces a link planted at its name, never writes through it; no temporary file is left', async () => {
    const file = path.join(dir, 'status.json');
    fs.symlinkSync(outside, file);
    await writeAtomic(file, '{"ok":true}\n');
    intact();
    expect(fs.lstatSync(file).isSymbolicLink()).toBe(false);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"ok":true}\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir).sort()).toEqual(['outside', 'status.json']);
  });

  it('an append or a read through a link, a hard link or a FIFO is refused (78), the target untouched', async () => {
    const log = path.join(dir, 'emails.jsonl');
    fs.symlinkSync(outside, log);
    await expect(appendLines(log, ['{"id":"x"}'])).rejects.toMatchObject({ code: 'ECONFIG', message: `${log} is a symbolic link: mailbox does not use it` });
    await expect(readText(log)).rejects.toMatchObject({ code: 'ECONFIG' });
    expect(await readText(log, { follow: true })).toBe('precious\n'); // config.json may be a link the user keeps
    fs.rmSync(log);
    fs.linkSync(outside, log);
    await expect(appendLines(log, ['{"id":"x"}'])).rejects.toMatchObject({ code: 'ECONFIG', message: expect.stringContaining('has 2 names') });
    intact();
    fs.rmSync(log);
    execFileSync('mkfifo', [log]);
    await expect(appendLines(log, ['{"id":"x"}'])).rejects.toMatchObject({ code: 'ECONFIG', message: expect.stringContaining('is not a plain file') });
    await expect(readText(log)).rejects.toMatchObject({ code: 'ECONFIG' });
  });

  it('an append tightens a file that others could read to 0600 (through its descriptor)', async () => {
    const log = path.join(dir, 'emails.jsonl');
    fs.writeFileSync(log, '', { mode: 0o644 });
    await appendLines(log, ['a']);
    expect(fs.statSync(log).mode & 0o777).toBe(0o600);
  });

  it('sweepTmp removes only the temporary files of atomic writes', async () => {
    fs.writeFileSync(path.join(dir, 'status.json.0123456789ab.tmp'), 'x');
    fs.writeFileSync(path.join(dir, 'notes.tmp'), 'x');
    await sweepTmp(dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['notes.tmp', 'outside']);
  });

  it('the debug log refuses a link, a FIFO and a folder others can write; and tightens its folder', () => {
    const logs = path.join(dir, 'state', 'logs');
    const file = path.join(logs, 'work.log');
    const open = () => openDebugLog(file, { protocol: 'imap', secrets: [], account: 'work' });
    open().close();
    expect(fs.statSync(logs).mode & 0o777).toBe(0o700);
    fs.rmSync(file);
    fs.symlinkSync(outside, file);
    expect(open).toThrow(expect.objectContaining({ code: 'ECONFIG', message: `${file} is a symbolic link: mailbox does not use it` }));
    intact();
    fs.rmSync(file);
    execFileSync('mkfifo', [file]);
    expect(open).toThrow(expect.objectContaining({ message: expect.stringContaining('is not a plain file') }));
    fs.rmSync(file);
    fs.chmodSync(logs, 0o777);
    expect(open).toThrow(expect.objectContaining({ code: 'ECONFIG', message: expect.stringContaining(`${logs} is writable by every user (mode 0777)`) }));
    fs.chmodSync(logs, 0o700);
    fs.chmodSync(path.dirname(logs), 0o777); // state/ itself: another user could swap logs/ for their own
    expect(open).toThrow(expect.objectContaining({ code: 'ECONFIG', message: expect.stringContaining('state is writable by every user') }));
  });
});

describe('folders', () => {
  it('ensureDir makes every missing level 0700, and fails at once where the file system takes none', async () => {
    await ensureDir(path.join(dir, 'a', 'b', 'c'));
    for (const sub of ['a', 'a/b', 'a/b/c']) expect(fs.statSync(path.join(dir, sub)).mode & 0o777).toBe(0o700);
    const started = Date.now();
    await expect(ensureDir('/proc/mailbox-unit/x')).rejects.toMatchObject({ code: 'EIO', message: 'cannot create /proc/mailbox-unit: the file system there does not allow it' });
    await expect(ensureDir(path.join(outside, 'x'))).rejects.toMatchObject({ code: 'EIO', message: expect.stringContaining('not a folder') });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('checkPrivate refuses a folder or file others can write, naming the mode; a missing one is fine', async () => {
    await checkPrivate('folder', path.join(dir, 'missing'));
    fs.chmodSync(dir, 0o755);
    await checkPrivate('folder', dir);
    fs.chmodSync(dir, 0o775);
    await expect(checkPrivate('folder', dir)).rejects.toMatchObject({ code: 'ECONFIG', message: `${dir} is writable by its group (mode 0775): mailbox does not keep its files there` });
    fs.chmodSync(dir, 0o700);
    fs.chmodSync(outside, 0o646);
    await expect(checkPrivate('file', outside)).rejects.toMatchObject({ code: 'ECONFIG', message: `${outside} is writable by every user (mode 0646): mailbox does not use it` });
  });
});

describe('the config lock', () => {
  const account = (name: string) => parseAccount({ name, type: 'smtp', host: 'smtp.example.com' });

  it('waits while another command holds it, then makes its change', async () => {
    const store = new ConfigStore(path.join(dir, 'config.json'));
    await store.update((c) => ({ config: c, result: null }));
    const release = await lockfile.lock(store.file, { realpath: false });
    setTimeout(() => void release(), 300);
    const started = Date.now();
    await store.update((c) => ({ config: { ...c, accounts: [account('after')] }, result: null }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect((await store.load()).accounts.map((a) => a.name)).toEqual(['after']);
  });

  it('a folder it cannot write in is an I/O error at once (74), not "locked by another command"', async () => {
    if (process.getuid?.() === 0) return; // root writes anyway: the e2e test runs this as nobody
    const home = path.join(dir, 'ro');
    fs.mkdirSync(home, { mode: 0o500 });
    await expect(new ConfigStore(path.join(home, 'config.json')).update((c) => ({ config: c, result: null }))).rejects.toMatchObject({ code: 'EIO' });
  });

  it('a config.json kept elsewhere through a link is written where it lives, still 0600', async () => {
    const real = path.join(dir, 'dotfiles', 'mailbox.json');
    fs.mkdirSync(path.dirname(real));
    const store = new ConfigStore(path.join(dir, 'home', 'config.json'));
    fs.mkdirSync(path.dirname(store.file), { mode: 0o700 });
    fs.writeFileSync(real, JSON.stringify({ version: 1, accounts: [], filters: [] }), { mode: 0o600 });
    fs.symlinkSync(real, store.file);
    await store.update((c) => ({ config: { ...c, accounts: [account('linked')] }, result: null }));
    expect(fs.lstatSync(store.file).isSymbolicLink()).toBe(true);
    expect(JSON.parse(fs.readFileSync(real, 'utf8')).accounts[0].name).toBe('linked');
    expect(fs.statSync(real).mode & 0o777).toBe(0o600);
  });
});
