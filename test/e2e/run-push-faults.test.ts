// Push under faults (issue 15): the server stopped and started mid-IDLE, a path that silently drops
// traffic, a BYE during IDLE, and a server without IDLE. Watching always resumes (or, without IDLE,
// the account is polled and status says why), nothing is lost, and the runner never ends.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { startBlackholeProxy } from '../harness/index.js';
import { startScriptedServer, type ScriptConn } from '../harness/scripted-server.js';
import { runMailbox } from '../helpers/cli.js';
import { pushState, pushWorld, stored, until } from '../helpers/push-run.js';

const world = pushWorld('alice');
const { env, left } = world;
const { home, start } = world;

function message(tag: string): Buffer {
  return Buffer.from(`Message-ID: <${tag}@push.test>\r\nFrom: x@example.test\r\nSubject: ${tag}\r\n\r\nbody of ${tag}\r\n`);
}

const watching = (dir: string) => pushState(dir, 'work-imap')?.state === 'watching';
const holds = (dir: string, body: Buffer) => stored(dir, 'work-imap').filter((f) => fs.readFileSync(f).equals(body)).length;

/** Delivers and waits until the message is stored; resolves with how long that took. */
async function pushed(dir: string, body: Buffer, user = 'alice'): Promise<number> {
  const t0 = Date.now();
  await world.dovecot.deliver(user, body);
  await until(`${body.toString().split('\r\n')[0]} stored`, () => holds(dir, body) === 1, 5000, 10);
  return Date.now() - t0;
}

it('Dovecot stopped and started mid-IDLE: watching resumes, the mail delivered before the stop is read, nothing twice', async () => {
  await world.dovecot.doveadm(['expunge', '-u', 'alice', 'mailbox', 'INBOX', 'all']).catch(() => undefined);
  const dir = home();
  const runner = start(dir);
  await until('watching', () => watching(dir));
  const before = message('before-stop');
  await world.dovecot.deliver('alice', before);
  await world.dovecot.halt();
  await until('reconnecting', () => pushState(dir, 'work-imap')?.state === 'reconnecting', 10_000);
  // Down long enough for three failed connections in a row: the run log says so, and then the recovery.
  await until('the notice', () => runner.output().includes('push for work-imap: 3 connections in a row failed'), 15_000);
  await world.dovecot.resume();
  await until('watching again', () => watching(dir), 20_000);
  await until('the recovery notice', () => runner.output().includes('push for work-imap: watching again'), 5000);
  expect(Number(pushState(dir, 'work-imap')?.reconnects)).toBeGreaterThanOrEqual(1);
  // The read asked for when watching resumed picks up what came while it was not watching.
  await until('the message of before the stop', () => holds(dir, before) === 1, 5000);
  expect(await pushed(dir, message('after-start'))).toBeLessThan(2000);
  await new Promise((r) => setTimeout(r, 1200));
  expect(stored(dir, 'work-imap')).toHaveLength(2);
  expect(runner.child.exitCode).toBeNull();
}, 60_000);

it('a path that silently drops traffic: the keepalive notices within its bound and the runner reconnects', async () => {
  const proxy = await startBlackholeProxy({ host: world.dovecot.host, port: world.dovecot.imapsPort });
  left.cleanups.push(() => proxy.stop());
  const dir = home({ port: proxy.port, tls: { ca: world.dovecot.caFile, insecure: false } });
  const runner = start(dir, ['--push-keepalive', '4s']);
  // The first read cycle done: only the watching connection is open when the path goes silent.
  await until('watching', () => watching(dir) && runner.lines().length > 0);
  const since = pushState(dir, 'work-imap')?.since;
  const silenced = Date.now();
  proxy.silence();
  await until('reconnected', () => watching(dir) && pushState(dir, 'work-imap')?.since !== since, 15_000);
  // Noticed within the keepalive (4 s), plus the back-off (about a second) and a new login.
  expect(Date.now() - silenced).toBeLessThan(4000 + 1500 + 2000);
  expect(pushState(dir, 'work-imap')).toMatchObject({ reconnects: 1, reason: null });
  expect(await pushed(dir, message('after-silence'))).toBeLessThan(2000);
}, 60_000);

it('a BYE during IDLE (doveadm kick): the watcher reconnects and push goes on', async () => {
  const dir = home();
  start(dir);
  await until('watching', () => watching(dir));
  await world.dovecot.doveadm(['kick', 'alice']);
  await until('watching again', () => watching(dir) && Number(pushState(dir, 'work-imap')?.reconnects) >= 1, 15_000);
  expect(await pushed(dir, message('after-bye'))).toBeLessThan(2000);
}, 60_000);

/** An IMAP server without IDLE: LOGIN, EXAMINE/SELECT, STATUS of an empty INBOX, NOOP, LOGOUT. */
async function noIdle(conn: ScriptConn): Promise<void> {
  conn.line('* OK [CAPABILITY IMAP4rev1] scripted server without IDLE');
  for (;;) {
    let line: string;
    try {
      line = await conn.readLine();
    } catch {
      return;
    }
    const [tag, verb = ''] = line.split(' ');
    switch (verb.toUpperCase()) {
      case 'CAPABILITY':
        conn.line('* CAPABILITY IMAP4rev1');
        break;
      case 'LOGIN':
        break;
      case 'EXAMINE':
      case 'SELECT':
        conn.line('* 0 EXISTS');
        conn.line('* OK [UIDVALIDITY 7] ok');
        conn.line('* OK [UIDNEXT 1] ok');
        break;
      case 'STATUS':
        conn.line('* STATUS INBOX (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 7)');
        break;
      case 'LIST':
        conn.line('* LIST () "/" INBOX');
        break;
      case 'LOGOUT':
        conn.line('* BYE bye');
        conn.line(`${tag} OK done`);
        conn.end();
        return;
      default:
        break;
    }
    conn.line(`${tag} OK done`);
  }
}

it('a server without IDLE: polled, and status says why', async () => {
  const server = await startScriptedServer(noIdle);
  left.cleanups.push(() => server.stop());
  const dir = home({ host: server.host, port: server.port, security: 'none', tls: {} });
  const runner = start(dir);
  await until('poll state', () => pushState(dir, 'work-imap')?.mode === 'poll');
  expect(pushState(dir, 'work-imap')).toMatchObject({ mode: 'poll', reason: 'the server does not offer IDLE' });
  const text = await runMailbox(['status'], { home: dir, env });
  expect(text.stdout).toContain('poll: the server does not offer IDLE');
  await until('the first read', () => runner.lines().length > 0);
  expect(runner.lines()[0]).toMatchObject({ job: 'read', ok: true, trigger: 'poll' });
  // The watching connection was given up: nothing but the reads connect.
  await new Promise((r) => setTimeout(r, 1000));
  expect(server.received().filter((l: string) => /IDLE/i.test(l))).toEqual([]);
}, 30_000);
