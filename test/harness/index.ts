// The test harness: real loopback servers (Dovecot, SMTP, Secret Service) and misbehaving endpoints.
// Every start*() returns an object with an idempotent stop(); call it in afterAll.
export { freePort, freePorts, HOST } from './ports.js';
export { makeCerts, fingerprintOf, type TestCerts } from './certs.js';
export { USERS } from './users.js';
export { startDovecot, type Dovecot, type PlainDovecot, type DovecotOptions } from './dovecot.js';
export { startSmtp, type SmtpServer, type SmtpMessage, type SmtpOptions } from './smtp.js';
export {
  startSecretService,
  noSecretServiceEnv,
  probeKeyring,
  type SecretService,
  type SecretServiceEnv,
  type SecretServiceOptions,
  type KeyringProbe,
} from './secret-service.js';
export { startSilentServer, closedPort, type SilentServer } from './silent-server.js';
export { startBlackholeProxy, type BlackholeProxy } from './blackhole-proxy.js';
export { pgrep } from './procs.js';
export { startPostgres, type Postgres } from './postgres.js';
export { startOAuthServer, type OAuthServer, type OAuthServerOptions, type OAuthClientReg } from './oauth-server.js';
