// Benchmark 3: sending M queued messages through the SMTP server.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { passwordOf, type BenchEnv } from './env.js';
import { throughput, type Job } from './job.js';
import { addAccounts, notLanded, runOnce } from './mailbox.js';
import { expectCount } from './maildir.js';
import { mustRun } from './proc.js';
import { fillQueue } from './queue-fill.js';
import { measure } from './measure.js';
import { expectAccepted, msmtpJob } from './peers.js';
import { summarize, type Section } from './results.js';
import { HOST } from './servers.js';
import { speedTarget } from './targets.js';

const MAILBOX = 'mailbox run --once (SMTPS)';
const POOL = 'nodemailer pooled loop (library ceiling)';
const MSMTP = 'msmtp (one process per message)';

/** The bare nodemailer loop (bench/nodemailer-pool.ts) as its own process, like mailbox. */
function nodemailerJob(env: BenchEnv, files: string[]): Job {
  let dir = '';
  let before = 0;
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'nodemailer-pool.js');
  return {
    tool: POOL,
    prepare() {
      dir = env.fresh('nodemailer');
      before = env.smtp.messages().length;
      const list = path.join(dir, 'files.txt');
      fs.writeFileSync(list, files.join('\n'));
      const settings = { host: HOST, port: env.smtp.smtpsPort, user: 'alice', pass: passwordOf('alice'), ca: env.certs.caFile, from: 'alice@example.test', to: 'alice@example.test' };
      return [{ cmd: process.execPath, args: [script, list], opts: { env: { PATH: process.env.PATH, BENCH_SMTP: JSON.stringify(settings) } } }];
    },
    verify: () => expectAccepted(env, before, files.length),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * mailbox flushing a queue of M messages: the queue is built once (SMTP account added with the CLI, then
 * the messages queued) and every run starts from a copy of it.
 */
async function mailboxSendJob(env: BenchEnv, files: string[], commands: Set<string>): Promise<Job> {
  const unavailable = notLanded(commands, ['run', 'send']);
  let template = '';
  if (!notLanded(commands, ['send'])) {
    template = env.fresh('mailbox-send-template');
    await addAccounts(env, template, [{ name: 'bench-smtp', type: 'smtp', port: env.smtp.smtpsPort, user: 'alice' }]);
    await fillQueue(template, files, 'bench-smtp', 'alice@example.test');
    env.log(`send: queued ${files.length} messages for mailbox`);
  }
  let home = '';
  let before = 0;
  return {
    tool: MAILBOX,
    unavailable,
    async prepare() {
      home = env.fresh('mailbox-send');
      await mustRun('cp', ['-a', `${template}/.`, home]);
      before = env.smtp.messages().length;
      return [runOnce(home, 'alice')];
    },
    verify() {
      expectAccepted(env, before, files.length);
      expectCount(path.join(home, 'mail', 'sent'), files.length, 'messages in mail/sent');
      expectCount(path.join(home, 'mail', 'outbox'), 0, 'messages left in mail/outbox');
    },
    cleanup: () => fs.rmSync(home, { recursive: true, force: true }),
  };
}

export async function sendSection(env: BenchEnv, files: string[], commands: Set<string>): Promise<Section> {
  const m = files.length;
  const k = Math.min(env.opts.msmtpN, m);
  const contenders = [
    throughput(await mailboxSendJob(env, files, commands), m),
    throughput(msmtpJob(env, files.slice(0, k)), k),
    throughput(nodemailerJob(env, files), m),
  ];
  const rows = await measure('send', contenders, env.opts.runs, env.log);
  const section = summarize({
    id: 'send',
    title: `Sending: ${m.toLocaleString('en')} queued messages`,
    setup:
      `${m.toLocaleString('en')} messages of the same corpus sent to the test suite's SMTP server (smtp-server in its own process, ` +
      `writing each message to disk before its 250 reply) on loopback over implicit TLS (SMTPS) with AUTH PLAIN. msmtp sends ${k.toLocaleString('en')} of them, ` +
      `one process each as msmtpq does (about 10 a second: all ${m.toLocaleString('en')} would take minutes per run), so rows are compared per message.`,
    metric: { name: 'wall time', unit: 's' },
    perMessage: true,
    ratio: { base: MAILBOX, meaning: "the tool's time per message divided by mailbox's (above 1: mailbox is faster)" },
    rows,
    targets: [],
    notes: ['The server greets at once: the harness removes smtp-server\'s built-in 100 ms pre-greeting pause, as a production MTA has none.'],
  });
  section.targets = [
    speedTarget('send-msmtp', section, MAILBOX, MSMTP, 10, 'Sending at least 10x msmtp'),
    speedTarget('send-pool', section, MAILBOX, POOL, 0.8, 'Sending at least 0.8x the bare nodemailer pooled loop'),
  ];
  return section;
}
