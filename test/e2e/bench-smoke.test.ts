// The benchmark suite must keep working: `npm run bench -- --smoke` (tiny sizes, one run) against real
// servers, every installed tool verified to have received everything. Speed is not asserted here.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, REPO } from '../helpers/cli.js';

interface Row {
  tool: string;
  status: 'ok' | 'failed' | 'skipped' | 'unavailable';
  note?: string;
  samples: number[];
  messages?: number;
}
interface Report {
  sections: { id: string; rows: Row[]; targets: { text: string; met: boolean | null }[] }[];
  failures: string[];
}

function exec(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-test-'));
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

describe('npm run bench -- --smoke', () => {
  it('measures every benchmark, verifies every tool that ran, and writes latest.md and latest.json', async () => {
    const result = await exec('npm', ['run', '--silent', 'bench', '--', '--smoke', '--out', out]);
    expect(result.code, result.stderr).toBe(0);

    const report = JSON.parse(fs.readFileSync(path.join(out, 'latest.json'), 'utf8')) as Report;
    expect(report.sections.map((s) => s.id)).toEqual(['imap', 'pop3', 'send', 'idle', 'memory', 'startup', 'push', 'push']);
    expect(report.failures).toEqual([]);
    const rows = report.sections.flatMap((s) => s.rows.map((r) => ({ section: s.id, ...r })));
    for (const row of rows) {
      expect(row.status, `${row.section}: ${row.tool}: ${row.note}`).not.toBe('failed');
      // Push delays: one sample per message delivered.
      if (row.status === 'ok') expect(row.samples).toHaveLength(row.section === 'startup' ? 5 : row.section === 'push' ? (row.messages ?? 1) : 1);
      else expect(row.note, `${row.section}: ${row.tool} says why it did not run`).toMatch(/\S/);
    }
    // Start-up needs nothing but the built CLI: always measured.
    expect(rows.filter((r) => r.section === 'startup').every((r) => r.status === 'ok')).toBe(true);

    // The mailbox rows are measured as soon as the built CLI has `mailbox run`.
    const help = await exec(process.execPath, [BIN, '--help']);
    const hasRun = /^ {2}run\b/m.test(help.stdout);
    const mailboxRows = rows.filter((r) => r.tool.startsWith('mailbox ') && r.section !== 'startup');
    expect(mailboxRows.length).toBeGreaterThan(0);
    for (const row of mailboxRows) expect(row.status, `${row.section}: ${row.tool}: ${row.note}`).toBe(hasRun ? 'ok' : 'unavailable');

    const md = fs.readFileSync(path.join(out, 'latest.md'), 'utf8');
    expect(md).toContain('## 1. IMAP download');
    expect(md).toContain('## 6. Start-up');
    expect(md).toContain('## 8. Push: a runner watching 10 idle accounts');
  }, 180_000);
});
