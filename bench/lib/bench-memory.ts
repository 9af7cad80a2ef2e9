// Benchmark 5: peak resident memory while one big message is downloaded (streamed, never held whole).
import type { BenchEnv } from './env.js';
import { peakRss } from './job.js';
import { mailboxReadJob } from './mailbox.js';
import { measure } from './measure.js';
import { fetchmailJob, getmailJob, mbsyncJob } from './peers.js';
import { summarize, type Section } from './results.js';
import { ceilingTarget } from './targets.js';

export const BIG_USER = 'alice';
const LIMIT_MB = 150;

export async function memorySection(env: BenchEnv, big: { size: number; crlfSize: number }, unavailable: string | undefined): Promise<Section> {
  const { imapsPort: imaps, pop3sPort: pop3s } = env.dovecot;
  const scratch = env.fresh('rss');
  const jobs = [
    mailboxReadJob(env, { proto: 'imap', user: BIG_USER, port: imaps, expected: 1, size: big.crlfSize }, unavailable),
    mailboxReadJob(env, { proto: 'pop3', user: BIG_USER, port: pop3s, expected: 1, size: big.crlfSize }, unavailable),
    mbsyncJob(env, BIG_USER, 1),
    fetchmailJob(env, 'imap', 'bsmtp', BIG_USER, 1),
    fetchmailJob(env, 'pop3', 'bsmtp', BIG_USER, 1),
    getmailJob(env, 'imap', BIG_USER, 1),
    getmailJob(env, 'pop3', BIG_USER, 1),
  ];
  const rows = await measure('memory', jobs.map((j) => peakRss(j, scratch)), env.opts.runs, env.log);
  const mb = (big.size / 1024 / 1024).toFixed(0);
  const section = summarize({
    id: 'memory',
    title: `Memory: peak RSS fetching one ${mb} MB message`,
    setup:
      `One message of ${mb} MiB (a base64 attachment) in its own Dovecot INBOX; each tool downloads it into an empty folder over ` +
      `implicit TLS. Peak resident set size of the tool's process as GNU time reports it (the largest of the process and the children it waited for).`,
    metric: { name: 'peak RSS', unit: 'MB' },
    perMessage: false,
    ratio: { base: jobs[0]!.tool, meaning: "the tool's peak RSS divided by mailbox's over IMAP" },
    extraColumns: ['time (s)'],
    rows,
    targets: [],
    notes: ['MB here is MiB (1,048,576 bytes), as GNU time reports kilobytes of 1,024 bytes.'],
  });
  section.targets = [
    ceilingTarget('memory-imap', section, jobs[0]!.tool, LIMIT_MB, `Peak RSS below ${LIMIT_MB} MB for a ${mb} MB message over IMAP`),
    ceilingTarget('memory-pop3', section, jobs[1]!.tool, LIMIT_MB, `Peak RSS below ${LIMIT_MB} MB for a ${mb} MB message over POP3`),
  ];
  return section;
}
