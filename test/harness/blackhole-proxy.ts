// A loopback TCP proxy in front of a server that can go silent: silence() keeps every open
// connection open but forwards nothing more either way, as a NAT box or firewall that forgot the
// connection does (no FIN, no RST). New connections after it are forwarded normally.
import net from 'node:net';
import { HOST, listenOnLoopback } from './ports.js';

export interface BlackholeProxy {
  host: typeof HOST;
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  /** Connections open now. */
  open(): number;
  /** Every connection open now stops forwarding (both ways), and stays open. */
  silence(): void;
  stop(): Promise<void>;
}

export async function startBlackholeProxy(target: { host: string; port: number }): Promise<BlackholeProxy> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket; silent: boolean }>();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(target.port, target.host);
    const pair = { client, upstream, silent: false };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    // Forward by hand (not pipe) so that a silenced pair drops bytes instead of buffering them.
    client.on('data', (d) => void (pair.silent || upstream.write(d)));
    upstream.on('data', (d) => void (pair.silent || client.write(d)));
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', () => (pair.silent ? undefined : end()));
      s.on('end', () => (pair.silent ? undefined : end()));
    }
  });
  const port = await listenOnLoopback(server);
  return {
    host: HOST,
    port,
    accepted: () => accepted,
    open: () => pairs.size,
    silence: () => {
      for (const pair of pairs) pair.silent = true;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const { client, upstream } of pairs) {
          client.destroy();
          upstream.destroy();
        }
        pairs.clear();
        server.close(() => resolve());
      }),
  };
}
