// Benchmark 4: a `mailbox run --once` with nothing new: wall time and protocol round trips, counted by a
// proxy between the client and Dovecot. IMAP is measured on two mailbox sizes to show whether the cost
// grows with the mailbox; mbsync, polled the same way, is shown beside it.
import fs from 'node:fs';
import path from 'node:path';
import type { BenchEnv } from './env.js';
import { exec, type Cmd } from './job.js';
import { addAccounts, inboxOf, runOnce } from './mailbox.js';
import { expectCount } from './maildir.js';
import { measure, type Contender } from './measure.js';
import { mbsyncRc, MBSYNC_MISSING } from './peers.js';
import { startCountingProxy, type CountingProxy } from './proxy.js';
import { findRow, summarize, type Section, type Target } from './results.js';
import { unjudged } from './targets.js';

// The harness knows alice, bob and carol; each benchmark refills the INBOXes it uses.
export const IDLE_SMALL = 'alice';
export const IDLE_LARGE = 'bob';

interface IdleCase {
  proto: 'imap' | 'pop3';
  user: string;
  count: number;
}

/** A client that keeps its own store and polls: set up once, then the same command every time. */
interface Poller {
  name: string;
  unavailable?: string;
  /** Configures a client in `dir` against the proxy; returns the poll command and the Maildir it fills. */
  setup(dir: string, c: IdleCase, port: number): Promise<{ poll: Cmd; maildir: string }>;
}

const mailboxPoller = (env: BenchEnv, unavailable: string | undefined): Poller => ({
  name: 'mailbox',
  unavailable,
  async setup(dir, c, port) {
    await addAccounts(env, dir, [{ name: `idle-${c.proto}`, type: c.proto, port, user: c.user }]);
    return { poll: runOnce(dir, c.user), maildir: inboxOf(dir) };
  },
});

const mbsyncPoller = (env: BenchEnv): Poller => ({
  name: 'mbsync',
  unavailable: MBSYNC_MISSING,
  async setup(dir, c, port) {
    const out = path.join(dir, 'Maildir');
    fs.mkdirSync(out);
    return { poll: { cmd: 'mbsync', args: ['-q', '-c', mbsyncRc(env, dir, c.user, port, out), 'bench'] }, maildir: path.join(out, 'INBOX') };
  },
});

const label = (p: Poller, c: IdleCase) => `${p.name} ${c.proto.toUpperCase()}S, ${c.count.toLocaleString('en')} messages`;

function idleContender(env: BenchEnv, p: Poller, c: IdleCase, proxy: CountingProxy, dirs: string[]): Contender {
  let client: { poll: Cmd; maildir: string } | undefined;
  return {
    tool: label(p, c),
    unavailable: p.unavailable,
    async once() {
      if (!client) {
        // First download (not measured): afterwards the store has everything and the poll finds nothing new.
        const dir = env.fresh(`idle-${p.name}-${c.proto}-${c.user}`);
        dirs.push(dir);
        client = await p.setup(dir, c, proxy.port);
        const s = await exec(client.poll);
        expectCount(client.maildir, c.count);
        env.log(`idle: primed ${label(p, c)} in ${s.toFixed(1)} s`);
        // mbsync sleeps 1 s when its Maildir changed within the last second (timestamp granularity): let it age.
        await new Promise((r) => setTimeout(r, 1100));
      }
      proxy.reset();
      const seconds = await exec(client.poll);
      expectCount(client.maildir, c.count, 'messages after the idle poll (a duplicate or a loss)');
      const counts = proxy.counts();
      return {
        value: seconds,
        extra: { 'round trips': counts.roundTrips, 'client lines': counts.commands, 'KB from server': counts.bytesFromServer / 1024, connections: counts.connections },
      };
    },
  };
}

function constantTarget(section: Section, mailbox: Poller, small: IdleCase, large: IdleCase): Target {
  const text = 'Idle poll: constant round trips for IMAP whatever the mailbox size';
  const a = findRow(section, label(mailbox, small));
  const b = findRow(section, label(mailbox, large));
  if (!a || !b) return unjudged('idle-constant', text, 'mailbox rows not measured');
  const ra = Number(a.extra?.['round trips']);
  const rb = Number(b.extra?.['round trips']);
  const met = rb <= ra;
  return {
    key: 'idle-constant',
    text,
    met,
    measured: `${ra} round trips at ${small.count.toLocaleString('en')} messages, ${rb} at ${large.count.toLocaleString('en')}`,
    gap: met ? undefined : `${rb - ra} more round trips on the larger mailbox`,
  };
}

export async function idleSection(env: BenchEnv, unavailable: string | undefined): Promise<Section> {
  const small: IdleCase = { proto: 'imap', user: IDLE_SMALL, count: env.opts.idlePop3 };
  const large: IdleCase = { proto: 'imap', user: IDLE_LARGE, count: env.opts.idleImap };
  const pop: IdleCase = { proto: 'pop3', user: IDLE_SMALL, count: env.opts.idlePop3 };
  const imapProxy = await startCountingProxy(env.certs, env.dovecot.imapPort);
  const popProxy = await startCountingProxy(env.certs, env.dovecot.pop3Port);
  const mailbox = mailboxPoller(env, unavailable);
  const mbsync = mbsyncPoller(env);
  const cases: [Poller, IdleCase][] = [[mailbox, small], [mailbox, large], [mailbox, pop], [mbsync, small], [mbsync, large]];
  const dirs: string[] = [];
  const contenders = cases.map(([p, c]) => idleContender(env, p, c, c.proto === 'imap' ? imapProxy : popProxy, dirs));
  let rows;
  try {
    rows = await measure('idle', contenders, env.opts.runs, env.log);
  } finally {
    await imapProxy.stop();
    await popProxy.stop();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
  const section = summarize({
    id: 'idle',
    title: 'Idle poll: a second `mailbox run --once` with nothing new',
    setup:
      `Each client first downloads its mailbox completely (not measured), then polls again and finds nothing new. ` +
      `It connects with TLS to a counting proxy in front of Dovecot's plain port; a round trip is the client sending after ` +
      `the server has spoken (commands pipelined in one burst count once); client lines and the bytes the server sent are counted too ` +
      `(a constant number of round trips can still carry a listing that grows with the mailbox). Connection set-up and login are included.`,
    metric: { name: 'wall time', unit: 's' },
    perMessage: false,
    extraColumns: ['round trips', 'client lines', 'KB from server', 'connections'],
    rows,
    targets: [],
    notes: [],
  });
  section.targets = [constantTarget(section, mailbox, small, large)];
  return section;
}
