// Command-line options of `npm run bench -- ...`.
import { parseArgs } from 'node:util';
import { BENCH_IDS, DEFAULT_BENCH_IDS, type BenchId } from './results.js';

export interface Options {
  /** Messages in the download mailbox (IMAP and POP3). */
  n: number;
  /** Messages queued for the sending benchmark. */
  m: number;
  /** msmtp starts one process per message, about 10 a second: it sends only this many (rate compared per message). */
  msmtpN: number;
  runs: number;
  only: BenchId[];
  idleImap: number;
  idlePop3: number;
  /** Size of the one big message of the memory benchmark, in MB. */
  bigMb: number;
  /** Push: messages whose delay is measured, with push and with the poll. */
  pushN: number;
  /** Push: the read interval of the poll it is compared with, in seconds. */
  pushPollS: number;
  /** Push: idle accounts one runner watches while its CPU and RSS are measured. */
  pushAccounts: number;
  /** Stored messages compared byte for byte per mailbox run. */
  sample: number;
  seed: number;
  smoke: boolean;
  installPeers: boolean;
  keep: boolean;
  /** Where latest.md and latest.json go. */
  out?: string;
  /** A checkout (built) whose mailbox is measured instead of this one. */
  mailbox?: string;
  /** Only re-render latest.md from latest.json (after editing lib/limits.ts). */
  render: boolean;
  help: boolean;
}

export const USAGE = `usage: npm run bench -- [options]

  --n N              messages to download over IMAP and POP3 (default 5000; about 5 KB each)
  --m M              queued messages to send (default 2000)
  --msmtp-n K        messages msmtp sends, one process each (default 300; compared per message)
  --runs R           runs per tool, median reported (default 3)
  --only LIST        comma-separated: ${BENCH_IDS.join(',')} (default: all but fleet;
                     --only fleet alone writes to bench/results/fleet/)
  --idle-imap N      messages in the idle-poll IMAP mailbox (default 50000)
  --idle-pop3 N      messages in the idle-poll POP3 mailbox (default 5000)
  --big-mb MB        size of the message of the memory benchmark (default 200)
  --push-n N         push: messages whose delay from delivery to new/ is measured (default 100)
  --push-poll S      push: read interval in seconds of the poll it is compared with (default 30)
  --push-accounts N  push: idle accounts watched by one runner while its CPU and RSS are measured (default 200)
  --sample K         stored messages compared byte for byte per mailbox run (default 50)
  --seed S           corpus seed (default 1)
  --smoke            tiny sizes, one run, peers optional: checks the bench works (the test suite runs it)
  --install-peers    as root: apt-get install the missing peer tools first
  --keep             keep the temporary work folder (servers' logs, rc files)
  --out DIR          where to write latest.md and latest.json (default bench/results; --smoke: a temp folder)
  --render           only rewrite latest.md (and latest.json) in --out from latest.json, with lib/limits.ts
  --mailbox DIR      measure the built mailbox of another checkout (default: this one; run npm run build first)
`;

function positiveInt(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected a whole number >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      n: { type: 'string' },
      m: { type: 'string' },
      'msmtp-n': { type: 'string' },
      runs: { type: 'string' },
      only: { type: 'string' },
      'idle-imap': { type: 'string' },
      'idle-pop3': { type: 'string' },
      'big-mb': { type: 'string' },
      'push-n': { type: 'string' },
      'push-poll': { type: 'string' },
      'push-accounts': { type: 'string' },
      sample: { type: 'string' },
      seed: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      'install-peers': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      out: { type: 'string' },
      mailbox: { type: 'string' },
      render: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const smoke = values.smoke!;
  const only = (values.only ?? DEFAULT_BENCH_IDS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const id of only) {
    if (!BENCH_IDS.includes(id as BenchId)) throw new Error(`--only: unknown benchmark ${JSON.stringify(id)} (accepted: ${BENCH_IDS.join(', ')})`);
  }
  return {
    n: positiveInt('n', values.n, smoke ? 30 : 5000),
    m: positiveInt('m', values.m, smoke ? 10 : 2000),
    msmtpN: positiveInt('msmtp-n', values['msmtp-n'], smoke ? 3 : 300),
    runs: positiveInt('runs', values.runs, smoke ? 1 : 3),
    only: only as BenchId[],
    idleImap: positiveInt('idle-imap', values['idle-imap'], smoke ? 200 : 50_000),
    idlePop3: positiveInt('idle-pop3', values['idle-pop3'], smoke ? 50 : 5000),
    bigMb: positiveInt('big-mb', values['big-mb'], smoke ? 4 : 200),
    pushN: positiveInt('push-n', values['push-n'], smoke ? 5 : 100),
    pushPollS: positiveInt('push-poll', values['push-poll'], smoke ? 2 : 30),
    pushAccounts: positiveInt('push-accounts', values['push-accounts'], smoke ? 10 : 200),
    sample: positiveInt('sample', values.sample, smoke ? 10 : 50, 0),
    seed: positiveInt('seed', values.seed, 1, 0),
    smoke,
    installPeers: values['install-peers']!,
    keep: values.keep!,
    out: values.out,
    mailbox: values.mailbox,
    render: values.render!,
    help: values.help!,
  };
}
