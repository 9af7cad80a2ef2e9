// run-send-emails.test.ts on the PostgreSQL store.
import { useDatabaseStore } from '../helpers/store.js';

await useDatabaseStore();
await import('./run-send-emails.test.js');
