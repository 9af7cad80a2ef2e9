// Endpoints that misbehave on purpose, for timeout and connection-error tests.
import net from 'node:net';
import { freePort, HOST, listenOnLoopback } from './ports.js';

export interface SilentServer {
  host: '127.0.0.1';
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** Closes the listener and every held connection; idempotent. */
  stop(): Promise<void>;
}

/** Accepts TCP connections and never sends a byte (a server that never greets). */
export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => {}); // client resets are expected
    s.on('close', () => sockets.delete(s));
  });
  const port = await listenOnLoopback(server);
  let stopped: Promise<void> | undefined;
  return {
    host: HOST,
    port,
    connections: () => accepted,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      })),
  };
}

/** A port on 127.0.0.1 where nothing listens: connecting gets ECONNREFUSED (unless something binds it meanwhile). */
export function closedPort(): Promise<number> {
  return freePort();
}
