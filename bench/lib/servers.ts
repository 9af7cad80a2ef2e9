// The servers come from the test suite's harness (test/harness/): the bench measures against exactly the
// Dovecot and SMTP server the tests use, started on free loopback ports with one generated CA.
export {
  HOST,
  freePort,
  makeCerts,
  startDovecot,
  startSmtp,
  USERS,
  type Dovecot,
  type SmtpServer,
  type TestCerts,
} from '../../test/harness/index.js';
