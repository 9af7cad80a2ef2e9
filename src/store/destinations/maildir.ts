// The maildir: destination (issue 13): another Maildir, created 0700 when missing, written with the
// store's own rule (tmp/, fsync, rename into new/, the folder fsynced). The file is named after the
// email id, so a hand-off repeated after a stop renames onto the same name instead of adding a copy.
import os from 'node:os';
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
    close: async () => undefined,
  };
}
