// What limits each target when it is missed: written by hand from measurements on the 2-vCPU bench VM
// (Node 20, Dovecot 2.3 on loopback; numbers from /usr/bin/time, node --cpu-prof and hyperfine runs
// beside the bench), keyed by Target.key. `npm run bench -- --render` re-renders latest.md with it.
import type { Report } from './report.js';

const IMAP_CPU =
  'CPU, on a machine where the server needs the same CPUs. mailbox spends 1.5-2.5 s of user CPU on 5,000 messages ' +
  '(0.3-0.5 ms a message; a CPU profile puts the most of it in imapflow parsing every FETCH response, then the header ' +
  'summaries for the email log, GC, buffers and streams) and runs at 130-170% CPU, on 2 vCPUs that Dovecot also needs ' +
  'for TLS and reading the 5,000 files; mbsync uses 0.2 s of user CPU. The main thread is idle under 20% of the time: ' +
  'the network and the fsyncs are not the limit. The ratio also moves with the machine: in 3 side-by-side pairs at load ' +
  'about 1 right after this run, mailbox took 1.45-3.5 s against mbsync\'s 3.2-4.1 s (1.1x-2.8x). Going further needs ' +
  'a cheaper FETCH parser than imapflow\'s, or more cores.';

export const LIMITS: Record<string, string> = {
  'imap-mbsync': IMAP_CPU,
  'imap-fetchmail': IMAP_CPU,
  'imap-getmail': IMAP_CPU,
  'pop3-bsmtp':
    'The durable store\'s kernel time on a shared VM, not the protocol. mailbox uses 1.2-1.7 s of user CPU for 5,000 ' +
    'messages; its system time (creating 5,000 files, renaming them into new/, syncfs) varied from 0.4 s to 6 s between ' +
    'runs, because syncfs also flushes whatever other processes on the machine wrote. fetchmail --bsmtp appends every ' +
    'message to one file and never fsyncs. In 3 side-by-side pairs at load about 1 right after this run, mailbox took ' +
    '1.5-1.7 s against fetchmail --bsmtp\'s 2.9-3.3 s (about 1.9x faster); earlier, under load, it won 7 of 11 pairs.',
  'send-pool':
    'CPU on the client and the shared 2 vCPUs: besides the same SMTP conversation, mailbox reads each queued file, marks ' +
    'batches in flight and settles them (renames into sent/, the email log), while the SMTP server (Node too) competes for ' +
    'the same CPUs. (Measured before the sender read small messages ahead: 2.8-3.2 s of user CPU for 2,000 messages against ' +
    '2.0-2.4 s for the bare loop.)',
  'send-msmtp': 'A miss here would mean the pooled SMTP connection itself is slow: see the note on the bare nodemailer loop.',
  'memory-imap':
    'The floor, not the message: `mailbox run --once` fetching one tiny message peaks at about 110 MB over IMAP: ' +
    'node itself 39 MB, the disk-writer worker threads about 9 MB each, imapflow and the rest the remainder.',
  'memory-pop3':
    'The floor, not the message: `mailbox run --once` fetching one tiny message peaks at about 90 MB over POP3: ' +
    'node itself 39 MB, the disk-writer worker threads about 9 MB each.',
  'startup-list':
    'Node 20 loading the CLI. hyperfine in a clean environment: `node -e 0` 27.5 ms, an empty ES module 28.6 ms, importing ' +
    'the bundled entry (dist/cli/main.js and the 11 code-split chunks it pulls in, commander and chalk inside) 55.6 ms, ' +
    '`--version` 55.6 ms, `list --json` 61 ms. A CPU profile of `list --json` puts about 14 ms in Node\'s ES module loader ' +
    '(resolving and linking 12 files, 4 ms of it URL handling) and about 9 ms in compiling and running the bundled code; the ' +
    'command itself takes a few ms. 1.5x leaves about 14 ms above bare node: that needs the list path in one file with less ' +
    'code to compile, or a code cache (Node 22 has module.enableCompileCache; Node 20 has none).',
  'idle-constant': 'The IMAP poll would be listing the folder (UID SEARCH or FETCH) instead of asking STATUS for UIDNEXT.',
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
