// Changing the operating settings (config.json `settings`): one key at a time, under the config's lock.
// The runner reads them at the start of every cycle, so a change takes effect within one cycle.
import { withSettings } from '../core/config.js';
import { withSetting, type SettingKey, type SettingsMap } from '../core/settings.js';
import type { ConfigStorage } from '../store/types.js';

export interface SettingChange {
  key: SettingKey;
  before: string | undefined;
  after: string | undefined;
}

/** Sets `key` to `value` (already checked by parseSetting), or unsets it with undefined. */
export function changeSetting(config: Pick<ConfigStorage, 'update'>, key: SettingKey, value: string | undefined): Promise<SettingChange> {
  return config.update((current) => {
    const before = current.settings?.[key];
    if (before === value) return { result: { key, before, after: value } };
    const settings: SettingsMap = withSetting(current.settings, key, value);
    return { config: withSettings(current, settings), result: { key, before, after: value } };
  });
}
