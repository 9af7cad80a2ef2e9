// The one way to open the store: the local files under `paths` (a database store will be chosen
// here too). Loaded lazily by the commands that need mail, the queue or the runner's state.
import path from 'node:path';
import { checkPrivate } from './local/files.js';
import { openLocalStores } from './local/index.js';
import type { Paths } from './paths.js';
import type { StoreOptions, Stores } from './types.js';

export async function openStores(paths: Paths, options: StoreOptions): Promise<Stores> {
  // A state or mail folder another user can write lets them plant links among mailbox's files.
  const folders = [paths.stateDir, path.join(paths.stateDir, 'seen'), paths.logDir, paths.mailDir];
  for (const folder of folders) await checkPrivate('folder', folder);
  return openLocalStores(paths, options);
}
