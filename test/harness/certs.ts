// Throwaway TLS material for the loopback servers, made with the openssl CLI.
//   CA + server cert (EC P-256; SAN DNS:localhost, DNS:127.0.0.1, IP:127.0.0.1, IP:127.0.0.2, IP:::1):
//     DNS:127.0.0.1 because some clients match the host name only against DNS names.
//   An unrelated self-signed cert with the same names: for "valid name, untrusted issuer" tests.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile, rm, chmod } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SAN = 'subjectAltName=DNS:localhost,DNS:127.0.0.1,IP:127.0.0.1,IP:127.0.0.2,IP:::1';
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface TestCerts {
  dir: string;
  /** Trust this one in clients. */
  caFile: string;
  caKeyFile: string;
  /** Server leaf cert alone / key / leaf + CA (what servers present). */
  certFile: string;
  keyFile: string;
  chainFile: string;
  /** SHA-256 of the server leaf, `AA:BB:...` like node's `cert.fingerprint256`. */
  fingerprint: string;
  /** Self-signed, trusted by nobody, same SANs. */
  selfSigned: { certFile: string; keyFile: string; fingerprint: string };
}

export async function fingerprintOf(pemFile: string): Promise<string> {
  return new X509Certificate(await readFile(pemFile)).fingerprint256;
}

/** Creates the files in `dir` (made if missing); ~0.1 s. */
export async function makeCerts(dir: string): Promise<TestCerts> {
  await mkdir(dir, { recursive: true });
  const p = (f: string) => path.join(dir, f);
  const ossl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await Promise.all([
    ossl('req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3650',
      '-subj', '/CN=mailbox test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'),
    ossl('req', '-new', ...EC, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'),
    ossl('req', '-x509', ...EC, '-keyout', 'selfsigned.key', '-out', 'selfsigned.pem', '-days', '3650',
      '-subj', '/CN=localhost', '-addext', SAN),
  ]);
  await writeFile(p('server.ext'), ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth', SAN, ''].join('\n'));
  await ossl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '3650', '-extfile', 'server.ext');
  await writeFile(p('server-chain.pem'), Buffer.concat([await readFile(p('server.pem')), await readFile(p('ca.pem'))]));
  await Promise.all(['server.csr', 'server.ext', 'ca.srl'].map((f) => rm(p(f), { force: true })));
  // Servers may read these after dropping root (Dovecot reads them as root, smtp child as us): keys 0600 is enough.
  await Promise.all([
    ...['ca.pem', 'server.pem', 'server-chain.pem', 'selfsigned.pem'].map((f) => chmod(p(f), 0o644)),
    ...['ca.key', 'server.key', 'selfsigned.key'].map((f) => chmod(p(f), 0o600)),
  ]);
  return {
    dir,
    caFile: p('ca.pem'),
    caKeyFile: p('ca.key'),
    certFile: p('server.pem'),
    keyFile: p('server.key'),
    chainFile: p('server-chain.pem'),
    fingerprint: await fingerprintOf(p('server.pem')),
    selfSigned: { certFile: p('selfsigned.pem'), keyFile: p('selfsigned.key'), fingerprint: await fingerprintOf(p('selfsigned.pem')) },
  };
}
