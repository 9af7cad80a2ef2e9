// Harness servers for one test file (started before its tests, stopped after) and what each test
// leaves behind (folders, proxies, processes), removed after it. Call at the top of a test file.
import { afterAll, afterEach, beforeAll } from 'vitest';

/** A server for the whole file, read through the returned function inside tests. */
export function useServer<T extends { stop(): Promise<unknown> }>(start: () => Promise<T>): () => T {
  let server: T | undefined;
  beforeAll(async () => {
    server = await start();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => server!;
}

/** Push a cleanup during a test; it runs after that test, pass or fail. */
export function afterEachTest(): Array<() => unknown> {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  return cleanups;
}
