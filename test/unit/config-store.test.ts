// ConfigStore against the real file system: lock, atomic write, undo on a failed write.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAccount } from '../../src/core/account.js';
import { ConfigStore } from '../../src/store/config-store.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mbx-store-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const account = (name: string) => parseAccount({ name, type: 'smtp', host: 'smtp.example.com' });

describe('ConfigStore', () => {
  it('a missing file reads as an empty config; update writes it 0600', async () => {
    const store = new ConfigStore(path.join(dir, 'a', 'config.json'));
    expect((await store.load()).accounts).toEqual([]);
    await store.update((c) => ({ config: { ...c, accounts: [account('x')] }, result: null }));
    expect((await store.load()).accounts.map((a) => a.name)).toEqual(['x']);
    expect(fs.statSync(store.file).mode & 0o777).toBe(0o600);
  });

  it('concurrent updates in one process lose nothing', async () => {
    const store = new ConfigStore(path.join(dir, 'b', 'config.json'));
    await Promise.all(Array.from({ length: 8 }, (_, i) => store.update((c) => ({ config: { ...c, accounts: [...c.accounts, account(`a${i}`)] }, result: null }))));
    expect((await store.load()).accounts).toHaveLength(8);
  });

  it('a failed write runs undo (not afterWrite), rethrows, and leaves the old file', async () => {
    const store = new ConfigStore(path.join(dir, 'c', 'config.json'));
    await store.update((c) => ({ config: { ...c, accounts: [account('keep')] }, result: null }));
    const before = fs.readFileSync(store.file, 'utf8');
    (store as unknown as { write: () => Promise<void> }).write = async () => {
      throw new Error('disk full');
    };
    const calls: string[] = [];
    await expect(
      store.update((c) => ({
        config: { ...c, accounts: [] },
        result: null,
        undo: async () => void calls.push('undo'),
        afterWrite: async () => void calls.push('afterWrite'),
      })),
    ).rejects.toThrow('disk full');
    expect(calls).toEqual(['undo']);
    expect(fs.readFileSync(store.file, 'utf8')).toBe(before);
  });

  it('a change that throws writes nothing; a corrupt file is reported and left byte-identical', async () => {
    const store = new ConfigStore(path.join(dir, 'd', 'config.json'));
    fs.mkdirSync(path.dirname(store.file));
    fs.writeFileSync(store.file, '{"accounts": [}');
    await expect(store.update(() => ({ config: undefined, result: null }))).rejects.toMatchObject({ code: 'ECONFIG', exitCode: 78 });
    await expect(store.load()).rejects.toThrow(`${store.file}: not valid JSON`);
    expect(fs.readFileSync(store.file, 'utf8')).toBe('{"accounts": [}');
    expect(fs.readdirSync(path.dirname(store.file))).toEqual(['config.json']);
  });
});
