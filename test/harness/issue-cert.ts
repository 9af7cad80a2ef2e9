// A server certificate for other names, signed by an existing harness CA: the servers of a test mail
// domain (imap.example.test, autoconfig.example.test, ...) present names a client checks.
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { fingerprintOf, type TestCerts } from './certs.js';

const run = promisify(execFile);

/** The CA of `ca` with a new leaf for `names` (DNS names; IP addresses become IP SANs) in `dir`. */
export async function issueCerts(ca: TestCerts, names: string[], dir: string): Promise<TestCerts> {
  await mkdir(dir, { recursive: true });
  const p = (f: string) => path.join(dir, f);
  const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', `/CN=${names[0]}`]);
  await writeFile(p('server.ext'), ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth', `subjectAltName=${san}`, ''].join('\n'));
  await run('openssl', ['x509', '-req', '-in', p('server.csr'), '-CA', ca.caFile, '-CAkey', ca.caKeyFile, '-CAcreateserial', '-CAserial', p('ca.srl'), '-out', p('server.pem'), '-days', '30', '-extfile', p('server.ext')]);
  await writeFile(p('server-chain.pem'), Buffer.concat([await readFile(p('server.pem')), await readFile(ca.caFile)]));
  await Promise.all(['server.csr', 'server.ext', 'ca.srl'].map((f) => rm(p(f), { force: true })));
  return { ...ca, dir, certFile: p('server.pem'), keyFile: p('server.key'), chainFile: p('server-chain.pem'), fingerprint: await fingerprintOf(p('server.pem')) };
}
