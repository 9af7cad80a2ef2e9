// The CLI edge as pipelines see it: a reader that closes early must not crash mailbox.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseEnv, BIN, REPO, runMailbox } from '../helpers/cli.js';

describe('mailbox output', () => {
  it('exits quietly when stdout closes early (mailbox --help | head -1)', async () => {
    const child = spawn(process.execPath, [BIN, '--help'], { env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    // Close our end before mailbox has written its help, as `head -c0` would.
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).not.toMatch(/EPIPE|Error:|at /);
    expect(code).toBe(0);
  });
});

describe('the command table through the executable', () => {
  it('`help COMMAND` shows the options of a command that loads on demand; an unknown command is 64; --version is package.json', async () => {
    const help = await runMailbox(['help', 'edit']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--no-filter\s+use the default filter/);
    const unknown = await runMailbox(['lst']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain("unknown command 'lst'");
    expect(unknown.stderr).toContain('(Did you mean list?)');
    const version = await runMailbox(['--version']);
    expect(version.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version);
  });
});

describe('usage errors and help (issue 9)', () => {
  it.each([
    [['list', '--bogus', '--json'], "unknown option '--bogus'"],
    [['--json', 'lst'], "unknown command 'lst'"],
    [['add', '--port', '--json'], "option '--port <port>' argument missing"],
  ])('with --json a usage error is one JSON object on stderr, nothing else (%j)', async (args, message) => {
    const r = await runMailbox(args);
    expect(r.code).toBe(64);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!).error).toMatchObject({ code: 'EUSAGE', exit: 64, message });
  });

  it('the suggestion for a mistyped command is the hint; without --json the text is as before', async () => {
    const json = JSON.parse((await runMailbox(['lst', '--json'])).stderr).error;
    expect(json.hint).toContain('Did you mean list?');
    const text = await runMailbox(['lst']);
    expect(text.stderr).toContain("unknown command 'lst'");
    expect(text.stderr).toContain('(run with --help for usage)');
  });

  it('every command lists the global options --json and --home in its help', async () => {
    for (const cmd of [['add'], ['list'], ['emails', 'show'], ['filter', 'add'], ['run']]) {
      const r = await runMailbox([...cmd, '--help']);
      const global = r.stdout.slice(r.stdout.indexOf('Global Options:'));
      expect(r.stdout, cmd.join(' ')).toContain('Global Options:');
      expect(global, cmd.join(' ')).toMatch(/--json\s+print data as JSON/);
      expect(global, cmd.join(' ')).toMatch(/--home <dir>/);
      expect(global, cmd.join(' ')).not.toContain('--version');
    }
  });

  it('test --timeout takes a duration or a bare number of seconds, and its help says so', async () => {
    const help = await runMailbox(['test', '--help']);
    expect(help.stdout).toMatch(/--timeout <duration>\s+time limit per account: 30s, 2m, or a bare number of\s+seconds/);
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mailbox-timeout-'));
    try {
      for (const value of ['5', '5s', '2m']) expect((await runMailbox(['test', '--timeout', value], { home })).code, value).toBe(0);
      expect((await runMailbox(['test', '--timeout', 'soon'], { home })).code).toBe(65);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
