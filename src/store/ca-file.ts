// --ca FILE: the file must exist and hold a PEM certificate; the config stores its absolute path.
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { invalid, MailboxError } from '../core/errors.js';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Resolves `file` against `cwd`, checks every certificate in it parses, and returns the absolute path. */
export async function checkCaFile(file: string, cwd: string): Promise<string> {
  const absolute = path.resolve(cwd, file);
  let text: string;
  try {
    text = await fs.readFile(absolute, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw invalid('ca', file, 'a PEM certificate file, not a folder');
    const fix = { field: 'ca', hint: 'give the path of a PEM file that holds the CA certificate', fixes: [{ field: 'ca', value: 'FILE' }] };
    if (code === 'ENOENT') throw new MailboxError('ENOTFOUND', `no such CA file: ${absolute}`, fix);
    throw new MailboxError('EIO', `cannot read CA file ${absolute}: ${(err as Error).message}`, fix);
  }
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw invalid('ca', file, 'a PEM file with at least one "-----BEGIN CERTIFICATE-----" block');
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch {
      throw invalid('ca', file, 'a PEM file whose certificates parse (this one holds a damaged certificate)');
    }
  }
  return absolute;
}
