// A counting proxy for the idle-poll benchmark: clients connect with implicit TLS (the same certificate
// as Dovecot), the proxy talks plain text to Dovecot's plain port and counts what the client does.
// A round trip is a turn of the conversation: the client sends after the server has spoken, so commands
// pipelined in one burst count once and a client that waits for each reply counts once per command.
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { freePort, HOST, type TestCerts } from './servers.js';

export interface ProxyCounts {
  connections: number;
  /** Lines the client sent (commands, continuation lines, literals' lines). */
  commands: number;
  roundTrips: number;
  bytesFromServer: number;
}

export interface CountingProxy {
  port: number;
  counts(): ProxyCounts;
  reset(): void;
  stop(): Promise<void>;
}

export async function startCountingProxy(certs: TestCerts, targetPort: number): Promise<CountingProxy> {
  let c: ProxyCounts = { connections: 0, commands: 0, roundTrips: 0, bytesFromServer: 0 };
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ key: fs.readFileSync(certs.keyFile), cert: fs.readFileSync(certs.chainFile) }, (client) => {
    c.connections++;
    let serverSpoke = false;
    const upstream = net.connect(targetPort, HOST);
    sockets.add(client).add(upstream);
    upstream.on('data', (chunk: Buffer) => {
      serverSpoke = true;
      c.bytesFromServer += chunk.length;
      client.write(chunk);
    });
    client.on('data', (chunk: Buffer) => {
      if (serverSpoke) c.roundTrips++;
      serverSpoke = false;
      for (const byte of chunk) if (byte === 10) c.commands++;
      upstream.write(chunk);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  server.on('tlsClientError', () => undefined);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, HOST, () => resolve()));
  return {
    port,
    counts: () => ({ ...c }),
    reset() {
      c = { connections: 0, commands: 0, roundTrips: 0, bytesFromServer: 0 };
    },
    stop() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
