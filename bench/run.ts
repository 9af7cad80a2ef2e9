// npm run bench -- [--smoke] [--n N] [--runs R] [--only imap,pop3,send,idle,memory,startup,push] ...
// Starts a private Dovecot and SMTP server on loopback, fills the mailboxes, measures mailbox beside the
// peer tools, and writes bench/results/latest.md and latest.json. Exit 1 when any measured row failed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { downloadSection, DOWNLOAD_USER, type Corpus } from './lib/bench-download.js';
import { BIG_USER, memorySection } from './lib/bench-memory.js';
import { IDLE_LARGE, IDLE_SMALL, idleSection } from './lib/bench-idle.js';
import { pushDelaySection, pushIdleSection } from './lib/bench-push.js';
import { sendSection } from './lib/bench-send.js';
import { startupSection } from './lib/bench-startup.js';
import { fleetSections } from './lib/bench-fleet.js';
import { makeMessage, writeBigMessage, writeCorpus } from './lib/corpus.js';
import { applyLimits } from './lib/limits.js';
import { makeFresh, repoRoot, type BenchEnv } from './lib/env.js';
import { loadFile, loadMailbox } from './lib/load.js';
import { mailboxCommands, notLanded, useCheckout } from './lib/mailbox.js';
import { parseOptions, USAGE, type Options } from './lib/options.js';
import { aptLine, installPackages, missingPeerPackages } from './lib/peers.js';
import { which } from './lib/proc.js';
import { machine, markdown, toolVersions, writeReport, type Report } from './lib/report.js';
import type { Section } from './lib/results.js';
import { makeCerts, startDovecot, startSmtp, type Dovecot, type SmtpServer } from './lib/servers.js';

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const SERVER_PACKAGES: Record<string, string> = { dovecot: 'dovecot-imapd dovecot-pop3d', doveadm: 'dovecot-core', openssl: 'openssl' };

function missingServerPackages(): string[] {
  return [...new Set(Object.entries(SERVER_PACKAGES).filter(([cmd]) => !which(cmd)).map(([, pkg]) => pkg))];
}

/** The servers are required; a missing peer only skips its rows. Prints the apt-get line for what is missing. */
async function checkTools(opts: Options): Promise<void> {
  let servers = missingServerPackages();
  let peers = missingPeerPackages();
  if (opts.installPeers && servers.length + peers.length > 0) {
    await installPackages([...servers, ...peers].flatMap((p) => p.split(' ')), log);
    servers = missingServerPackages();
    peers = missingPeerPackages();
  }
  if (servers.length) throw new Error(`the mail servers are not installed; run as root: ${aptLine(servers)}`);
  if (peers.length) {
    log(`peer tools missing (their rows are skipped): ${peers.join(', ')}; install with: ${aptLine(peers)} (or, as root, npm run bench -- --install-peers)`);
  }
}

function collectFailures(sections: Section[]): string[] {
  return sections.flatMap((s) => s.rows.filter((r) => r.status === 'failed').map((r) => `${s.id}: ${r.tool}: ${r.note}`));
}

async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(argv);
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const fleetOnly = opts.only.length === 1 && opts.only[0] === 'fleet';
  const out = opts.out ?? (opts.smoke ? fs.mkdtempSync(path.join(os.tmpdir(), 'mailbox-bench-smoke-')) : path.join(repoRoot(), 'bench', 'results', ...(fleetOnly ? ['fleet'] : [])));
  if (opts.render) {
    const report = applyLimits(JSON.parse(fs.readFileSync(path.join(out, 'latest.json'), 'utf8')) as Report);
    const files = writeReport(out, report);
    log(`rewrote ${files.md} and ${files.json}`);
    return 0;
  }
  await checkTools(opts);
  if (opts.mailbox) useCheckout(opts.mailbox);
  const commands = await mailboxCommands();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mailbox-bench-'));
  // Dovecot's mail processes and getmail6's delivery run as nobody when we are root: they must get in.
  fs.chmodSync(work, 0o755);
  let dovecot: Dovecot | undefined;
  let smtp: SmtpServer | undefined;
  const stop = async () => {
    await smtp?.stop().catch(() => undefined);
    await dovecot?.stop().catch(() => undefined);
    if (!opts.keep) fs.rmSync(work, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping the servers`);
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);

  const sections: Section[] = [];
  const t0 = Date.now();
  const loadAtStart = os.loadavg()[0]!;
  try {
    const certs = await makeCerts(path.join(work, 'tls'));
    dovecot = await startDovecot({ certs });
    smtp = await startSmtp({ certs });
    const env: BenchEnv = { opts, work, certs, dovecot, smtp, log, fresh: makeFresh(work) };
    const want = (id: Section['id']) => opts.only.includes(id);
    log(`servers up: dovecot imaps ${dovecot.imapsPort} pop3s ${dovecot.pop3sPort}, smtps ${smtp.smtpsPort}; work folder ${work}`);

    if (want('imap') || want('pop3')) {
      const bytes = await loadMailbox(dovecot, DOWNLOAD_USER, opts.n, (i) => makeMessage(opts.seed, i, 'mixed'));
      const corpus: Corpus = { count: opts.n, bytes };
      log(`loaded ${opts.n} messages (${(bytes / 1e6).toFixed(1)} MB) into ${DOWNLOAD_USER}'s INBOX`);
      if (want('imap')) sections.push(await downloadSection(env, 'imap', corpus, commands));
      if (want('pop3')) sections.push(await downloadSection(env, 'pop3', corpus, commands));
    }
    if (want('send')) {
      const files = writeCorpus(path.join(work, 'send-corpus'), opts.seed, opts.m);
      sections.push(await sendSection(env, files, commands));
    }
    if (want('idle')) {
      await loadMailbox(dovecot, IDLE_SMALL, opts.idlePop3, (i) => makeMessage(opts.seed, i, 'small'));
      await loadMailbox(dovecot, IDLE_LARGE, opts.idleImap, (i) => makeMessage(opts.seed, i, 'small'));
      log(`loaded the idle mailboxes: ${opts.idlePop3} and ${opts.idleImap} messages`);
      sections.push(await idleSection(env, notLanded(commands, ['run'])));
    }
    if (want('memory')) {
      const file = path.join(work, 'big.eml');
      const big = await writeBigMessage(file, opts.seed, opts.bigMb * 1024 * 1024);
      await loadFile(dovecot, BIG_USER, file);
      fs.rmSync(file);
      sections.push(await memorySection(env, big, notLanded(commands, ['run'])));
    }
    if (want('startup')) sections.push(await startupSection(env));
    if (want('push')) {
      sections.push(await pushDelaySection(env));
      sections.push(await pushIdleSection(env));
    }
    if (want('fleet')) sections.push(...(await fleetSections(env)));
  } finally {
    await stop();
  }

  const report: Report = {
    generatedAt: new Date().toISOString(),
    command: ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '),
    options: opts,
    machine: machine(loadAtStart),
    versions: await toolVersions(),
    sections,
    failures: collectFailures(sections),
  };
  const files = writeReport(out, applyLimits(report));
  process.stdout.write(markdown(report));
  log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s; wrote ${files.md} and ${files.json}`);
  for (const f of report.failures) log(`FAILED ${f}`);
  return report.failures.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    log(`error: ${err.message}`);
    process.exitCode = 2;
  },
);
