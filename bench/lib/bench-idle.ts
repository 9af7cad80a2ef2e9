// Benchmark 4: a `mailbox run --once` with nothing new: wall time and protocol round trips, counted by a
// proxy between mailbox and Dovecot. IMAP is measured on two mailbox sizes to show the cost is constant.
import fs from 'node:fs';
import type { BenchEnv } from './env.js';
import { mailboxEnv, writeAccounts, inboxOf, BIN } from './mailbox.js';
import { expectCount } from './maildir.js';
import { measure, type Contender } from './measure.js';
import { describeExit, lastLines, run } from './proc.js';
import { startCountingProxy, type CountingProxy } from './proxy.js';
import { summarize, findRow, type Section, type Target } from './results.js';
import { missedBy, unjudged } from './targets.js';

// The harness knows alice, bob and carol; each benchmark refills the INBOXes it uses.
export const IDLE_SMALL = 'alice';
export const IDLE_LARGE = 'bob';

interface IdleCase {
  proto: 'imap' | 'pop3';
  user: string;
  count: number;
}

const label = (c: IdleCase) => `mailbox ${c.proto.toUpperCase()}S, ${c.count.toLocaleString('en')} messages`;

async function runOnceChecked(home: string, user: string): Promise<number> {
  const r = await run(process.execPath, [BIN, 'run', '--once'], { env: mailboxEnv(home, user), timeoutMs: 30 * 60_000 });
  if (r.code !== 0) throw new Error(`mailbox run --once ${describeExit(r)}: ${lastLines(r)}`);
  return r.seconds;
}

function idleContender(env: BenchEnv, c: IdleCase, proxy: CountingProxy, unavailable: string | undefined, homes: string[]): Contender {
  let home = '';
  return {
    tool: label(c),
    unavailable,
    async once() {
      if (!home) {
        // First download (not measured): afterwards the store has everything and the poll finds nothing new.
        home = env.fresh(`idle-${c.proto}-${c.user}`);
        homes.push(home);
        writeAccounts(env, home, [{ name: `idle-${c.proto}`, type: c.proto, port: proxy.port, user: c.user }]);
        const s = await runOnceChecked(home, c.user);
        expectCount(inboxOf(home), c.count);
        env.log(`idle: primed ${label(c)} in ${s.toFixed(1)} s`);
      }
      proxy.reset();
      const seconds = await runOnceChecked(home, c.user);
      expectCount(inboxOf(home), c.count, 'messages after the idle poll (a duplicate or a loss)');
      const counts = proxy.counts();
      return { value: seconds, extra: { 'round trips': counts.roundTrips, 'client lines': counts.commands, connections: counts.connections } };
    },
  };
}

function constantTarget(section: Section, small: IdleCase, large: IdleCase): Target {
  const text = 'Idle poll: constant round trips for IMAP whatever the mailbox size';
  const a = findRow(section, label(small));
  const b = findRow(section, label(large));
  if (!a || !b) return unjudged(text, 'mailbox rows not measured');
  const ra = Number(a.extra?.['round trips']);
  const rb = Number(b.extra?.['round trips']);
  const met = rb <= ra;
  return {
    text,
    met,
    measured: `${ra} round trips at ${small.count.toLocaleString('en')} messages, ${rb} at ${large.count.toLocaleString('en')}`,
    gap: met ? undefined : missedBy('idle-constant', `${rb - ra} more round trips on the larger mailbox`),
  };
}

export async function idleSection(env: BenchEnv, unavailable: string | undefined): Promise<Section> {
  const small: IdleCase = { proto: 'imap', user: IDLE_SMALL, count: env.opts.idlePop3 };
  const large: IdleCase = { proto: 'imap', user: IDLE_LARGE, count: env.opts.idleImap };
  const pop: IdleCase = { proto: 'pop3', user: IDLE_SMALL, count: env.opts.idlePop3 };
  const imapProxy = await startCountingProxy(env.certs, env.dovecot.imapPort);
  const popProxy = await startCountingProxy(env.certs, env.dovecot.pop3Port);
  const homes: string[] = [];
  const contenders = [small, large, pop].map((c) => idleContender(env, c, c.proto === 'imap' ? imapProxy : popProxy, unavailable, homes));
  let rows;
  try {
    rows = await measure('idle', contenders, env.opts.runs, env.log);
  } finally {
    await imapProxy.stop();
    await popProxy.stop();
  }
  const section = summarize({
    id: 'idle',
    title: 'Idle poll: a second `mailbox run --once` with nothing new',
    setup:
      `Each mailbox is first downloaded completely (not measured), then \`mailbox run --once\` runs again and finds nothing new. ` +
      `mailbox connects with TLS to a counting proxy in front of Dovecot's plain port; a round trip is the client sending after ` +
      `the server has spoken (commands pipelined in one burst count once). Connection set-up and login are included.`,
    metric: { name: 'wall time', unit: 's' },
    perMessage: false,
    extraColumns: ['round trips', 'client lines', 'connections'],
    rows,
    targets: [],
    notes: [],
  });
  section.targets = [constantTarget(section, small, large)];
  for (const home of homes) fs.rmSync(home, { recursive: true, force: true });
  return section;
}
