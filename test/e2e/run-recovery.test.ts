// Recovery does not depend on the run lock or the seen state (issue 10 item 3): `mailbox run` is
// SIGKILLed while messages are stored but not yet recorded as seen, then run.lock is removed, or
// left empty, or the seen-state file is moved away as its own hint says; the next run stores
// nothing twice and records everything.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFileName } from '../../src/store/local/file-names.js';
import { startDovecot } from '../harness/index.js';
import { afterEachTest, useServer } from '../helpers/file-servers.js';
import { runMailbox, tmpHome } from '../helpers/cli.js';
import { inBox, killWhen, throttle } from '../helpers/crash.js';
import { bulkDeliver, numbered, storedById } from '../integration/run-fixtures.js';

const dovecot = useServer(startDovecot);
const cleanups = afterEachTest();

const N = 500;
const env = { MBX_PW: 'alice-secret', BOB_PW: 'bob-secret' };

async function setUp(type: 'imap' | 'pop3', user: 'alice' | 'bob', extra: object = {}): Promise<string> {
  await bulkDeliver(dovecot(), user, numbered(N, 1500));
  const proxy = await throttle(type === 'imap' ? dovecot().imapPort : dovecot().pop3Port, 300_000);
  cleanups.push(proxy.close);
  const { home, cleanup } = tmpHome();
  cleanups.push(cleanup);
  const account = { name: 'acc', type, host: '127.0.0.1', port: proxy.port, security: 'none', user, secret: { kind: 'env', name: user === 'alice' ? 'MBX_PW' : 'BOB_PW' }, ...extra };
  fs.writeFileSync(path.join(home, 'config.json'), JSON.stringify({ version: 1, accounts: [account], filters: [] }));
  return home;
}

const seenDir = (home: string) => path.join(home, 'state', 'seen');

/** Stored messages the seen state does not cover (what a kill between storing and recording leaves). */
function unrecorded(home: string, type: 'imap' | 'pop3'): number {
  const sources = inBox(home).map((name) => parseFileName(name)!.source!.id);
  if (type === 'pop3') {
    const file = path.join(seenDir(home), 'acc.uidl');
    const seen = new Set(fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : []);
    return sources.filter((s) => !seen.has(s)).length;
  }
  const file = path.join(seenDir(home), 'acc.imap.json');
  if (!fs.existsSync(file)) return sources.length;
  let cursor: { lastUid: number; extra: number[] };
  try {
    cursor = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return 0; // being replaced: look again
  }
  return sources.filter((s) => {
    const uid = Number(s.split('/')[1]);
    return uid > cursor.lastUid && !cursor.extra.includes(uid);
  }).length;
}

/** Kills runs until one is killed with messages stored but not recorded as seen; false if none was. */
async function killBetweenStoringAndRecording(home: string, type: 'imap' | 'pop3'): Promise<boolean> {
  for (let attempt = 0; attempt < 6; attempt++) {
    await killWhen(home, env, () => unrecorded(home, type) > 0);
    if (unrecorded(home, type) > 0) return true;
  }
  return false;
}

function expectEachOnce(home: string): void {
  const stored = storedById(home);
  expect(stored.size).toBe(N);
  for (let i = 1; i <= N; i++) expect(stored.get(`m${i}@test`)?.length, `m${i}@test`).toBe(1);
}

async function finish(home: string): Promise<string> {
  const last = await runMailbox(['run', '--once'], { home, env, timeoutMs: 90_000 });
  expect(last.code, last.stderr).toBe(0);
  expectEachOnce(home);
  expect(JSON.parse((await runMailbox(['emails', '--json'], { home })).stdout)).toHaveLength(N);
  return last.stderr;
}

describe('recovery without the run lock', () => {
  it('run.lock removed after a kill: nothing stored twice', async () => {
    const home = await setUp('imap', 'alice');
    expect(await killBetweenStoringAndRecording(home, 'imap')).toBe(true);
    fs.rmSync(path.join(home, 'state', 'run.lock'));
    const stderr = await finish(home);
    expect(stderr).toMatch(/already stored but not recorded as seen were recognised/);
  });

  it('an empty run.lock after a kill: nothing stored twice', async () => {
    const home = await setUp('imap', 'alice');
    expect(await killBetweenStoringAndRecording(home, 'imap')).toBe(true);
    fs.writeFileSync(path.join(home, 'state', 'run.lock'), '');
    await finish(home);
  });

  it('IMAP seen state moved away, as its hint says: what is stored is recognised, nothing fetched twice', async () => {
    const home = await setUp('imap', 'alice');
    await killWhen(home, env, () => inBox(home).length >= 200);
    const before = inBox(home).length;
    expect(before).toBeGreaterThan(0);
    fs.renameSync(path.join(seenDir(home), 'acc.imap.json'), path.join(home, 'acc.imap.json.moved'));
    const next = await runMailbox(['run', '--once', '--log-format', 'json'], { home, env, timeoutMs: 90_000 });
    expect(next.code, next.stderr).toBe(0);
    const line = JSON.parse(next.stdout.trim().split('\n')[0]!);
    expect(line).toMatchObject({ received: N - before, duplicates: before });
    expectEachOnce(home);
  });

  it('POP3 UIDL file moved away after a clean run: the next run stores nothing twice', async () => {
    const home = await setUp('pop3', 'bob');
    const uidls = path.join(seenDir(home), 'acc.uidl');
    expect(await killWhen(home, env, () => fs.existsSync(uidls))).toBe(true);
    await finish(home); // a clean run: the lock is released, nothing left to recover
    fs.renameSync(uidls, path.join(home, 'acc.uidl.moved'));
    const next = await runMailbox(['run', '--once', '--log-format', 'json'], { home, env, timeoutMs: 90_000 });
    expect(next.code, next.stderr).toBe(0);
    // Recovery at the start rebuilt the UIDL set from the stored files: nothing is even fetched.
    expect(next.stderr).toContain(`account acc: ${N} message(s) already stored but not recorded as seen were recognised`);
    expect(JSON.parse(next.stdout.trim().split('\n')[0]!)).toMatchObject({ received: 0 });
    expectEachOnce(home);
    expect(fs.readFileSync(uidls, 'utf8').trim().split('\n')).toHaveLength(N);
  });
});
