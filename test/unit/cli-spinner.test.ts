import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startSpinner } from '../../src/cli/spinner.js';

describe('spinner', () => {
  it('draws a counting line and erases it before other output and at the end', () => {
    let out = '';
    const stream = new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) });
    const spinner = startSpinner(stream, 3);
    spinner.done();
    spinner.clear();
    expect(out).toMatch(/testing 3 accounts \(0 done\)\r\x1b\[K$/);
    spinner.stop();
    expect(out.endsWith('\r\x1b[K')).toBe(true);
  });
});
