import { defineConfig } from 'vitest/config';

// Integration tests start real servers (Dovecot, an SMTP child, D-Bus + gnome-keyring):
// generous timeouts, and separate processes (forks) so a test's child daemons die with its worker.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2, // the machines (and CI) have 2 cores
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
