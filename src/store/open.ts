// The one way to open the store: the local files under `paths`, or the database named by
// `options.database` (PostgreSQL, loaded only then). Loaded lazily by the commands that need it.
import path from 'node:path';
import { checkPrivate } from './local/files.js';
import { openLocalStores } from './local/index.js';
import type { Paths } from './paths.js';
import type { StoreOptions, Stores } from './types.js';

export async function openStores(paths: Paths, options: StoreOptions): Promise<Stores> {
  if (options.database) return (await import('./postgres/index.js')).openPostgresStores(options.database, options);
  // A state or mail folder another user can write lets them plant links among mailbox's files.
  const folders = [paths.stateDir, path.join(paths.stateDir, 'seen'), paths.logDir, paths.mailDir];
  for (const folder of folders) await checkPrivate('folder', folder);
  return openLocalStores(paths, options);
}
