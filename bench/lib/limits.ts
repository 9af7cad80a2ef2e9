// What limits each target when it is missed: written by hand from measurements on the 2-vCPU bench VM
// (Node 20, Dovecot 2.3 on loopback; numbers from /usr/bin/time, node --cpu-prof and hyperfine runs
// beside the bench), keyed by Target.key. `npm run bench -- --render` re-renders latest.md with it.
import type { Report } from './report.js';

const IMAP_CPU =
  'CPU. mailbox spends about 2.5 s of user CPU on 5,000 messages (about 0.5 ms a message: imapflow parsing ' +
  'every FETCH response, about 0.4 s; header summaries for the email log, 0.12 s; GC, 0.12 s; buffers and streams), ' +
  'so it runs at 125-170% CPU on a 2-vCPU machine whose other CPU Dovecot needs for TLS and reading the 5,000 files. ' +
  'mbsync uses 0.2 s of user CPU for the same transfer. The network and the fsyncs are not the limit: the main thread ' +
  'is idle under 20% of the time. Going further needs a cheaper FETCH parser than imapflow\'s (or more cores).';

export const LIMITS: Record<string, string> = {
  'imap-mbsync': IMAP_CPU,
  'imap-fetchmail': IMAP_CPU,
  'imap-getmail': IMAP_CPU,
  'pop3-bsmtp':
    'Kernel time of the durable store, not the protocol. mailbox uses about 1.5 s of user CPU for 5,000 messages; ' +
    'its system time (creating 5,000 files, renaming them into new/, syncfs over the file system) varied from 0.5 s to ' +
    '6 s from run to run on this shared VM (syncfs also flushes what other processes wrote). In 11 side-by-side pairs ' +
    'run right after the bench, mailbox beat fetchmail --bsmtp in 7 (mailbox 1.6-4.6 s, fetchmail 2.4-5.3 s); ' +
    'fetchmail appends every message to one file and never fsyncs.',
  'send-pool':
    'CPU on the client and the shared 2 vCPUs. For 2,000 messages mailbox used 2.8-3.2 s of user CPU against 2.0-2.4 s ' +
    'for the bare loop: reading each queued file, nodemailer parsing the raw message, marking batches in flight and ' +
    'settling them (renames into sent/, the email log) on top of the same SMTP conversation; the SMTP server (Node too) ' +
    'competes for the same 2 vCPUs. The main thread also waits about 1.5 s in total on 250 replies.',
  'send-msmtp':
    'One SMTP conversation per cycle is already pooled; a miss here would mean the SMTP connection itself is slow (see the send-pool note).',
  'memory-imap':
    'The floor, not the message: `mailbox run --once` fetching one tiny message peaks at about 110 MB over IMAP (92 MB over POP3): ' +
    'node itself 39 MB, the 4 disk-writer worker threads about 36 MB, imapflow and the rest the remainder.',
  'memory-pop3':
    'The floor, not the message: `mailbox run --once` fetching one tiny message peaks at about 92 MB over POP3: node itself 39 MB, ' +
    'the 4 disk-writer worker threads about 36 MB.',
  'startup-list':
    'Node 20 loading modules. Measured with hyperfine in a clean environment: `node -e 0` 30 ms, an empty ES module 35.5 ms, ' +
    'importing commander alone 49 ms and chalk alone 53 ms, the CLI\'s command tree (dist/cli/program.js: 34 project modules + ' +
    'commander + chalk, 46 files) 89 ms, `list --json` 95 ms. 1.5x leaves 15 ms above bare node for everything; that needs one ' +
    'bundled file (one module to resolve and compile) with commander and chalk kept off the list path, or Node 22\'s module compile cache.',
  'idle-constant': 'The IMAP poll would be listing the folder (UID SEARCH/FETCH) instead of STATUS UIDNEXT.',
};

/** Attaches the analysis to every missed target of the report. */
export function applyLimits(report: Report): Report {
  for (const section of report.sections) {
    for (const target of section.targets) {
      if (target.met === false && LIMITS[target.key]) target.limit = LIMITS[target.key];
      else delete target.limit;
    }
  }
  return report;
}
