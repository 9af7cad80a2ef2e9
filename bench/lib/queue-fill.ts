// Filling an outbox with M messages for the sending benchmark. `mailbox send --file` would take a CLI
// start per message (minutes for 2,000), so the messages go through the very code it calls: the built
// store's Queue.enqueue (dist/store/open.js, src/store/local/queue.ts), once into a template MAILBOX_HOME that every
// run copies. It is this checkout's store that writes the queue, also when --mailbox measures another
// checkout (an older one may have another store API; the files are the same): `mailbox status --json`
// of the measured checkout then confirms it sees the whole queue.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './env.js';
import { BIN, mailboxEnv } from './mailbox.js';
import { mustRun } from './proc.js';

interface StoreModule {
  openStores(
    paths: unknown,
    options: { clock: () => Date; pid: number; isAlive: (pid: number) => boolean },
  ): Promise<{
    queue: { enqueue(data: Buffer, outgoing: { account: string | null; recipients: string[] }): Promise<unknown> };
    close(): Promise<void>;
  }>;
}
interface PathsModule {
  resolvePaths(env: NodeJS.ProcessEnv, home?: string): unknown;
}

const dist = (file: string) => pathToFileURL(path.join(repoRoot(), 'dist', 'store', file)).href;

/** Queues every file (recipients from its To: header, as `mailbox send --file` does) for `account`. */
export async function fillQueue(home: string, files: string[], account: string, recipient: string): Promise<void> {
  const { openStores } = (await import(dist('open.js'))) as StoreModule;
  const { resolvePaths } = (await import(dist('paths.js'))) as PathsModule;
  const stores = await openStores(resolvePaths({}, home), { clock: () => new Date(), pid: process.pid, isAlive: () => false });
  for (const file of files) await stores.queue.enqueue(fs.readFileSync(file), { account, recipients: [recipient] });
  await stores.close();
  const status = JSON.parse((await mustRun(process.execPath, [BIN, 'status', '--json'], { env: mailboxEnv(home) })).stdout) as {
    queue: { ready: number };
  };
  if (status.queue.ready !== files.length) throw new Error(`mailbox status shows ${status.queue.ready} queued messages, expected ${files.length}`);
}
