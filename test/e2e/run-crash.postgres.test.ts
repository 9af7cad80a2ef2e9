// run-crash.test.ts on the PostgreSQL store.
import { useDatabaseStore } from '../helpers/store.js';

await useDatabaseStore();
await import('./run-crash.test.js');
