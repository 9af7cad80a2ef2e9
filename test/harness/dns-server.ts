// A DNS server on loopback (UDP) for discovery tests, on dns-packet: answers A, AAAA, MX and SRV from
// a zone the test sets, NXDOMAIN for names it does not know, NOERROR with no answer (NODATA) for a
// known name without records of the type asked, and nothing at all for names set to 'hang'.
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { HOST } from './ports.js';

export type DnsRecord =
  | { type: 'A'; address: string }
  | { type: 'AAAA'; address: string }
  | { type: 'MX'; exchange: string; priority?: number }
  | { type: 'SRV'; target: string; port: number; priority?: number; weight?: number };

export interface DnsServer {
  host: typeof HOST;
  port: number;
  /** For MAILBOX_DNS_SERVERS: "127.0.0.1:PORT". */
  address: string;
  /** Sets a name's records (replacing them), or makes it hang (no answer, ever). */
  set(name: string, records: DnsRecord[] | 'hang'): void;
  /** Forgets every name. */
  clear(): void;
  /** The questions asked so far, "TYPE name". */
  queries(): string[];
  stop(): Promise<void>;
}

const NXDOMAIN = 3;

function answerOf(name: string, r: DnsRecord): dnsPacket.Answer {
  switch (r.type) {
    case 'A':
    case 'AAAA':
      return { name, type: r.type, ttl: 5, class: 'IN', data: r.address };
    case 'MX':
      return { name, type: 'MX', ttl: 5, class: 'IN', data: { preference: r.priority ?? 10, exchange: r.exchange } };
    case 'SRV':
      return { name, type: 'SRV', ttl: 5, class: 'IN', data: { priority: r.priority ?? 0, weight: r.weight ?? 1, port: r.port, target: r.target } };
  }
}

export async function startDnsServer(): Promise<DnsServer> {
  const zone = new Map<string, DnsRecord[] | 'hang'>();
  const asked: string[] = [];
  const socket = dgram.createSocket('udp4');
  socket.on('message', (message, peer) => {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (!question) return;
    const name = question.name.toLowerCase().replace(/\.$/, '');
    asked.push(`${question.type} ${name}`);
    const entry = zone.get(name);
    if (entry === 'hang') return;
    const answers = (entry ?? []).filter((r) => r.type === question.type).map((r) => answerOf(question.name, r));
    const reply = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (entry === undefined ? NXDOMAIN : 0),
      questions: [question],
      answers,
    });
    socket.send(reply, peer.port, peer.address);
  });
  const port = await new Promise<number>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, HOST, () => resolve(socket.address().port));
  });
  let stopped: Promise<void> | undefined;
  return {
    host: HOST,
    port,
    address: `${HOST}:${port}`,
    set: (name, records) => void zone.set(name.toLowerCase(), records),
    clear: () => zone.clear(),
    queries: () => [...asked],
    stop: () => (stopped ??= new Promise<void>((resolve) => socket.close(() => resolve()))),
  };
}
