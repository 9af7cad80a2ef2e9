// The one way to open the store: the local files under `paths` (a database store will be chosen
// here too). Loaded lazily by the commands that need mail, the queue or the runner's state.
import { openLocalStores } from './local/index.js';
import type { Paths } from './paths.js';
import type { StoreOptions, Stores } from './types.js';

export async function openStores(paths: Paths, options: StoreOptions): Promise<Stores> {
  return openLocalStores(paths, options);
}
