// Benchmarks 1 and 2: download N messages over IMAP / POP3 into an empty local Maildir.
import type { BenchEnv } from './env.js';
import { throughput } from './job.js';
import { mailboxReadJob, notLanded } from './mailbox.js';
import { measure } from './measure.js';
import { fetchmailJob, getmailJob, mbsyncJob, type Incoming } from './peers.js';
import { summarize, type Section } from './results.js';
import { speedTarget } from './targets.js';

export const DOWNLOAD_USER = 'alice';

export interface Corpus {
  count: number;
  bytes: number;
}

const MAILBOX = (proto: Incoming) => `mailbox run --once (${proto.toUpperCase()}S)`;

export async function downloadSection(env: BenchEnv, proto: Incoming, corpus: Corpus, commands: Set<string>): Promise<Section> {
  const n = corpus.count;
  const port = proto === 'imap' ? env.dovecot.imapsPort : env.dovecot.pop3sPort;
  const jobs = [
    mailboxReadJob(env, { proto, user: DOWNLOAD_USER, port, expected: n, kind: 'mixed' }, notLanded(commands, ['run'])),
    ...(proto === 'imap' ? [mbsyncJob(env, DOWNLOAD_USER, n)] : []),
    fetchmailJob(env, proto, 'mda', DOWNLOAD_USER, n),
    fetchmailJob(env, proto, 'bsmtp', DOWNLOAD_USER, n),
    getmailJob(env, proto, DOWNLOAD_USER, n),
  ];
  const rows = await measure(proto, jobs.map((j) => throughput(j, n)), env.opts.runs, env.log);
  const P = proto.toUpperCase();
  const section = summarize({
    id: proto,
    title: `${P} download: ${n.toLocaleString('en')} messages into an empty Maildir`,
    setup:
      `${n.toLocaleString('en')} messages (${(corpus.bytes / 1e6).toFixed(1)} MB, ${(corpus.bytes / n / 1024).toFixed(1)} KiB on average: ` +
      `plain, 8-bit, multipart with attachments, long lines) in one Dovecot INBOX on loopback; every tool over implicit TLS ` +
      `(${P}S) checking the server certificate against the bench CA, into its own empty folder; ${env.opts.runs} run(s) each, round-robin.`,
    metric: { name: 'wall time', unit: 's' },
    perMessage: true,
    ratio: { base: MAILBOX(proto), meaning: "the tool's time per message divided by mailbox's (above 1: mailbox is faster)" },
    rows,
    targets: [],
    notes: [
      'Durability: mailbox writes each message to tmp/, fsyncs, renames into new/; mbsync fsyncs (FSync yes, its default); getmail6 fsyncs each message; the fetchmail MDA script (cat + mv) and --bsmtp (one batch file) do not fsync.',
      'Checked after every run: the number of messages stored (the batch file\'s MAIL FROM lines for --bsmtp); for mailbox also a sample compared byte for byte with what the server sent.',
    ],
  });
  section.targets =
    proto === 'imap'
      ? [
          speedTarget('imap-mbsync', section, MAILBOX(proto), 'mbsync IMAPS (Maildir)', 2, 'IMAP download at least 2x mbsync'),
          speedTarget('imap-fetchmail', section, MAILBOX(proto), 'fetchmail IMAPS (Maildir MDA)', 10, 'IMAP download at least 10x fetchmail (Maildir MDA)'),
          speedTarget('imap-getmail', section, MAILBOX(proto), 'getmail6 IMAPS (Maildir)', 10, 'IMAP download at least 10x getmail6'),
        ]
      : [
          speedTarget('pop3-bsmtp', section, MAILBOX(proto), 'fetchmail POP3S (--bsmtp file)', 1, 'POP3 download at least as fast as fetchmail writing one batch file'),
        ];
  return section;
}
