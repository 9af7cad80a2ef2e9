// Certificates a real deployment gets wrong, signed by the harness CA (so only the fault itself
// fails verification): one that expired yesterday, one issued for another host name.
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestCerts } from './certs.js';

const run = promisify(execFile);

export interface OddCert {
  certFile: string;
  keyFile: string;
}

export interface OddCerts {
  /** notAfter is yesterday (openssl -days -1). */
  expired: OddCert;
  /** Valid, but for DNS:mail.other.example only. */
  wrongHost: OddCert;
}

async function issue(certs: TestCerts, name: string, days: number, san: string): Promise<OddCert> {
  const p = (f: string) => path.join(certs.dir, f);
  const ossl = (...args: string[]) => run('openssl', args, { cwd: certs.dir });
  await ossl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=mail.other.example');
  await writeFile(p(`${name}.ext`), `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
  await ossl('x509', '-req', '-in', `${name}.csr`, '-CA', certs.caFile, '-CAkey', certs.caKeyFile, '-set_serial', String(Date.now()),
    '-days', String(days), '-out', `${name}.pem`, '-extfile', `${name}.ext`);
  await Promise.all([rm(p(`${name}.csr`)), rm(p(`${name}.ext`))]);
  return { certFile: p(`${name}.pem`), keyFile: p(`${name}.key`) };
}

/** Adds the odd certificates to a makeCerts() directory. */
export async function makeOddCerts(certs: TestCerts): Promise<OddCerts> {
  const [expired, wrongHost] = await Promise.all([
    issue(certs, 'expired', -1, 'DNS:localhost,IP:127.0.0.1'),
    issue(certs, 'wrong-host', 30, 'DNS:mail.other.example'),
  ]);
  return { expired, wrongHost };
}
