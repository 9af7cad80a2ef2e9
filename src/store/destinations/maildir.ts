// The maildir: destination (issue 13): another Maildir, created 0700 when missing, written with the
// store's own rule (tmp/, fsync, rename into new/, the folder fsynced). The file is named after the
// email id, so a hand-off repeated after a stop renames onto the same name instead of adding a copy.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { HandOffEnvelope, HandOffResult, HandOffTarget } from '../../core/destination.js';
import { Maildir } from '../local/maildir.js';

/** The host part of a Maildir file name, with the characters Maildir reserves escaped. */
function hostPart(): string {
  return os.hostname().replace(/\//g, '\\057').replace(/:/g, '\\072') || 'localhost';
}

export function maildirTarget(dir: string): HandOffTarget {
  const maildir = new Maildir(dir);
  let ready: Promise<void> | undefined;
  return {
    async deliver(content: AsyncIterable<Buffer>, envelope: HandOffEnvelope): Promise<HandOffResult> {
      try {
        await (ready ??= maildir.ensure());
        const name = `${envelope.emailId}.${hostPart()}`;
        await maildir.writeTmp(name, content);
        await maildir.publishTo(name, maildir.path('new', name));
        await maildir.sync();
        return { kind: 'delivered', reply: `stored in ${maildir.path('new', name)}` };
      } catch (err) {
        ready = undefined;
        // A full disk, a folder not writable: the admin fixes it and the next cycle retries.
        return { kind: 'retry', error: (err as Error).message };
      }
    },
    async check() {
      // The folder, or the nearest one above it that exists (it is created at the first hand-off): writable?
      for (let at = dir; ; at = path.dirname(at)) {
        const stat = await fs.stat(at).catch(() => undefined);
        if (stat) {
          if (!stat.isDirectory()) return { ok: false, detail: `${at} is not a folder` };
          const writable = await fs.access(at, fs.constants.W_OK).then(() => true, () => false);
          if (!writable) return { ok: false, detail: `${at} is not writable` };
          return { ok: true, detail: at === dir ? `Maildir ${dir} is writable` : `${dir} will be created (0700) in ${at}` };
        }
        if (path.dirname(at) === at) return { ok: false, detail: `no folder of ${dir} exists` };
      }
    },
    close: async () => undefined,
  };
}
