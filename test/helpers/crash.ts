// For the tests that SIGKILL `mailbox run` mid-work: a throttling proxy that makes the work last,
// a run killed when a condition holds, and what a Maildir box holds.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { baseEnv, BIN } from './cli.js';

/** Forwards to `port`, handing the server's bytes on at about `bytesPerSecond`; `close` stops it. */
export async function throttle(port: number, bytesPerSecond: number): Promise<{ port: number; close: () => void }> {
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    upstream.on('data', (chunk: Buffer) => {
      upstream.pause();
      client.write(chunk);
      setTimeout(() => upstream.resume(), (chunk.length / bytesPerSecond) * 1000);
    });
    client.on('data', (c) => upstream.write(c));
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

/** Starts `mailbox run --once` and SIGKILLs it once `ready()` holds (or lets it finish); true when killed. */
export async function killWhen(dir: string, env: NodeJS.ProcessEnv, ready: () => boolean): Promise<boolean> {
  const child = spawn(process.execPath, [BIN, 'run', '--once'], { env: baseEnv({ MAILBOX_HOME: dir, ...env }), stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  let killed = false;
  const poll = setInterval(() => {
    if (!killed && ready()) {
      killed = true;
      child.kill('SIGKILL');
    }
  }, 2);
  await exited;
  clearInterval(poll);
  return killed;
}

/** The file names in a box's new/ folder. */
export function inBox(dir: string, box = 'inbox'): string[] {
  const d = path.join(dir, 'mail', box, 'new');
  return fs.existsSync(d) ? fs.readdirSync(d) : [];
}
