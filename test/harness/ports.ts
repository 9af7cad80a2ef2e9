// Free loopback ports. The OS picks the port, we release it at once; the server started next
// binds it. A tiny race remains (another process may grab it first); servers that can listen on
// port 0 themselves (the SMTP child) do so instead, and Dovecot's start retries on EADDRINUSE.
import net from 'node:net';

export const HOST = '127.0.0.1';

/** Starts `server` on a port the OS picks on 127.0.0.1 and returns that port. */
export function listenOnLoopback(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** One port that nothing listens on right now (127.0.0.1). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  srv.unref();
  const port = await listenOnLoopback(srv);
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** n distinct free ports: all held open together so the OS cannot hand out one twice. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => net.createServer());
  try {
    return await Promise.all(servers.map(listenOnLoopback));
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r()))));
  }
}
