// emails-export.test.ts on the PostgreSQL store.
import { useDatabaseStore } from '../helpers/store.js';

await useDatabaseStore();
await import('./emails-export.test.js');
