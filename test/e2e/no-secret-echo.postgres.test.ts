// no-secret-echo.test.ts on the PostgreSQL store.
import { useDatabaseStore } from '../helpers/store.js';

await useDatabaseStore();
await import('./no-secret-echo.test.js');
