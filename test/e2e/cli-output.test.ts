// The CLI edge as pipelines see it: a reader that closes early must not crash mailbox.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { baseEnv, BIN } from '../helpers/cli.js';

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
