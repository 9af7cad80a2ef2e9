// Free loopback ports. The OS picks the port, we release it at once; the server started next
// binds it. A tiny race remains (another process may grab it first); servers that can listen on
// port 0 themselves (the SMTP child) do so instead, and Dovecot's start retries on EADDRINUSE.
import net from 'node:net';

export const HOST = '127.0.0.1';

/** One port that nothing listens on right now (127.0.0.1). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** n distinct free ports: all held open together so the OS cannot hand out one twice. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => net.createServer());
  try {
    return await Promise.all(
      servers.map(
        (srv) =>
          new Promise<number>((resolve, reject) => {
            srv.once('error', reject);
            srv.listen(0, HOST, () => resolve((srv.address() as net.AddressInfo).port));
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r()))));
  }
}
