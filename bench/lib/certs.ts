// A throwaway CA and a server certificate for the loopback servers, made with the openssl CLI.
import fs from 'node:fs';
import path from 'node:path';
import { mustRun } from './proc.js';

export interface Certs {
  /** The CA every client is told to trust. */
  ca: string;
  key: string;
  /** Server certificate followed by the CA. */
  chain: string;
}

/**
 * EC P-256 keys (instant to make; OpenSSL and GnuTLS clients take them). The SAN carries
 * DNS:127.0.0.1 as well as the IP because fetchmail and mbsync match the host name against DNS names only.
 */
export async function makeCerts(dir: string): Promise<Certs> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const f = (name: string) => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await mustRun('openssl', ['req', '-x509', '-new', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '30',
    '-subj', '/CN=mailbox bench CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await mustRun('openssl', ['req', '-new', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost']);
  fs.writeFileSync(f('server.ext'), [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=DNS:localhost,DNS:127.0.0.1,IP:127.0.0.1',
  ].join('\n'));
  await mustRun('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
    '-CAcreateserial', '-out', f('server.pem'), '-days', '30', '-extfile', f('server.ext')]);
  fs.writeFileSync(f('server-chain.pem'), Buffer.concat([fs.readFileSync(f('server.pem')), fs.readFileSync(f('ca.pem'))]));
  // Dovecot's privileged processes read the key; clients running as nobody read the CA.
  fs.chmodSync(f('ca.pem'), 0o644);
  fs.chmodSync(f('server-chain.pem'), 0o644);
  fs.chmodSync(f('server.key'), 0o600);
  return { ca: f('ca.pem'), key: f('server.key'), chain: f('server-chain.pem') };
}
