// The JSON shape of an account in list/show/export output: a secret's source, never the secret.
import type { AccountView, SecretRef } from '../core/account.js';

export interface SecretSource {
  kind: SecretRef['kind'] | 'none';
  /** Keychain entry "service/key", environment variable name, or the command line. */
  ref: string | null;
}

export function secretSource(ref: SecretRef | undefined): SecretSource {
  if (!ref) return { kind: 'none', ref: null };
  if (ref.kind === 'keychain') return { kind: 'keychain', ref: `${ref.service}/${ref.key}` };
  if (ref.kind === 'env') return { kind: 'env', ref: ref.name };
  return { kind: 'command', ref: ref.command };
}

export function accountJson(a: AccountView) {
  return {
    name: a.name,
    type: a.type,
    host: a.host,
    port: a.port,
    security: a.security,
    auth: a.auth,
    authMechanism: a.authMechanism ?? null,
    user: a.user ?? null,
    from: a.from ?? null,
    active: a.active,
    provisioned: a.provisioned,
    debug: a.debug,
    filter: a.filter ?? null,
    secret: secretSource(a.secret),
    folder: a.folder ?? null,
    deleteAfterDownload: a.type === 'smtp' ? null : Boolean(a.deleteAfterDownload),
    maxMessageSize: a.maxMessageSize ?? null,
    tls: { ca: a.tls.ca ?? null, fingerprint: a.tls.fingerprint ?? null, insecure: Boolean(a.tls.insecure) },
  };
}
