// send-envelope.test.ts on the PostgreSQL store.
import { useDatabaseStore } from '../helpers/store.js';

await useDatabaseStore();
await import('./send-envelope.test.js');
