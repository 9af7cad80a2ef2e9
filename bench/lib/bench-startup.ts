// Benchmark 6: start-up. `mailbox --version` and `mailbox list --json` (20 accounts) against `node -e 0`:
// the CLI must not load libraries a command does not use. hyperfine when installed, else a timing loop.
import fs from 'node:fs';
import path from 'node:path';
import type { BenchEnv } from './env.js';
import { applyAccounts, BIN, mailboxEnv, type AccountSpec } from './mailbox.js';
import { mustRun, run, which } from './proc.js';
import { median, summarize, type Row, type Section } from './results.js';
import { relativeTarget } from './targets.js';

const NODE = 'node -e 0';
const VERSION = 'mailbox --version';
const LIST = 'mailbox list --json (20 accounts)';

function twentyAccounts(env: BenchEnv): AccountSpec[] {
  const { imapsPort: imaps, pop3sPort: pop3s } = env.dovecot;
  return Array.from({ length: 20 }, (_, i): AccountSpec => {
    if (i < 9) return { name: `imap-${i + 1}`, type: 'imap', port: imaps, user: `user${i + 1}` };
    if (i < 18) return { name: `pop3-${i - 8}`, type: 'pop3', port: pop3s, user: `user${i + 1}` };
    return { name: `smtp-${i - 17}`, type: 'smtp', port: 465, user: 'alice', active: i === 18 };
  });
}

interface Timed {
  tool: string;
  argv: string[];
}

async function withHyperfine(home: string, cmds: Timed[], runs: number): Promise<Map<string, number[]>> {
  const out = path.join(home, 'hyperfine.json');
  const args = ['-N', '--warmup', '3', '--runs', String(runs), '--export-json', out, '--style', 'none'];
  for (const c of cmds) args.push('-n', c.tool, c.argv.join(' '));
  await mustRun('hyperfine', args, { env: mailboxEnv(home) });
  const json = JSON.parse(fs.readFileSync(out, 'utf8')) as { results: { command: string; times: number[] }[] };
  return new Map(json.results.map((r) => [r.command, r.times.map((s) => s * 1000)]));
}

async function withLoop(home: string, cmds: Timed[], runs: number): Promise<Map<string, number[]>> {
  const times = new Map<string, number[]>(cmds.map((c) => [c.tool, []]));
  for (let i = -3; i < runs; i++) {
    for (const c of cmds) {
      const r = await run(c.argv[0]!, c.argv.slice(1), { env: mailboxEnv(home) });
      if (r.code !== 0) throw new Error(`${c.tool} exited ${r.code}`);
      if (i >= 0) times.get(c.tool)!.push(r.seconds * 1000);
    }
  }
  return times;
}

export async function startupSection(env: BenchEnv): Promise<Section> {
  const home = env.fresh('startup');
  const node = process.execPath;
  const cmds: Timed[] = [
    { tool: NODE, argv: [node, '-e', '0'] },
    { tool: VERSION, argv: [node, BIN, '--version'] },
    { tool: LIST, argv: [node, BIN, 'list', '--json'] },
  ];
  const runs = env.opts.smoke ? 5 : 30;
  const rows: Row[] = [];
  let how = '';
  try {
    await applyAccounts(env, home, twentyAccounts(env));
    const listed = await mustRun(node, [BIN, 'list', '--json'], { env: mailboxEnv(home) });
    const count = (JSON.parse(listed.stdout) as unknown[]).length;
    if (count !== 20) throw new Error(`mailbox list --json shows ${count} accounts, expected 20`);
    const times = which('hyperfine') ? await withHyperfine(home, cmds, runs) : await withLoop(home, cmds, runs);
    how = which('hyperfine') ? `hyperfine -N, 3 warm-up runs, ${runs} runs each` : `${runs} runs each after 3 warm-up runs (hyperfine not installed)`;
    for (const c of cmds) rows.push({ tool: c.tool, status: 'ok', samples: times.get(c.tool)! });
  } catch (err) {
    for (const c of cmds) rows.push({ tool: c.tool, status: 'failed', note: (err as Error).message, samples: [] });
  }
  for (const r of rows) if (r.status === 'ok') env.log(`startup: ${r.tool}: median ${median(r.samples).toFixed(1)} ms`);
  fs.rmSync(home, { recursive: true, force: true });
  const section = summarize({
    id: 'startup',
    title: 'Start-up',
    setup: `Time from exec to exit of the built CLI (node bin/mailbox), ${how}; list reads a config.json of 20 accounts.`,
    metric: { name: 'wall time', unit: 'ms' },
    perMessage: false,
    ratio: { base: NODE, meaning: 'time divided by node -e 0' },
    rows,
    targets: [],
    notes: [],
  });
  section.targets = [relativeTarget('startup-list', section, LIST, NODE, 1.5, '`mailbox list --json` within 1.5x of `node -e 0`')];
  return section;
}
