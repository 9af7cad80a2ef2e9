// mailbox settings [list] | set KEY VALUE | unset KEY: the store-wide operating settings.
import type { Command } from 'commander';
import { parseSetting, parseSettingKey, SETTING_KEYS, settingRule, type SettingKey } from '../../core/settings.js';
import { changeSetting, type SettingChange } from '../../jobs/settings.js';
import { action, type ProgramEnv } from '../action.js';
import type { Context } from '../context.js';

export async function list(ctx: Context): Promise<void> {
  const { config } = await ctx.snapshot();
  const rows = SETTING_KEYS.map((key) => ({ key, value: config.settings?.[key] ?? null, default: settingRule(key).default || null, accepted: settingRule(key).accepted }));
  ctx.out.data(rows, () =>
    ctx.out.table(
      [{ header: 'KEY' }, { header: 'VALUE' }, { header: 'DEFAULT', drop: 1 }, { header: 'ACCEPTED', shrink: true, drop: 2 }],
      rows.map((r) => [r.key, r.value ?? '-', r.default ?? '-', r.accepted]),
    ),
  );
}

/** Says what a change did on stderr; returns it as JSON data ({key, before, after}). */
export function reportChange(ctx: Context, change: SettingChange) {
  const { key, before, after } = change;
  if (before === after) ctx.out.info(`${key} is ${after === undefined ? 'unset' : after} already: nothing changed`);
  else ctx.out.info(after === undefined ? `${key} unset (was ${before}; default ${settingRule(key).default || 'none'})` : `${key} set to ${after}${before === undefined ? '' : ` (was ${before})`}`);
  return { key, before: before ?? null, after: after ?? null };
}

export async function set(ctx: Context, key: string, value: string): Promise<void> {
  const k: SettingKey = parseSettingKey(key);
  ctx.out.data(reportChange(ctx, await changeSetting(ctx.accounts.config, k, parseSetting(k, value))), () => '');
}

export async function unset(ctx: Context, key: string): Promise<void> {
  ctx.out.data(reportChange(ctx, await changeSetting(ctx.accounts.config, parseSettingKey(key), undefined)), () => '');
}

export function register(command: Command, penv: ProgramEnv): void {
  command.addHelpText(
    'after',
    `
Keys: ${SETTING_KEYS.join(', ')}.
A running runner reads the settings at the start of every cycle. They are part of export and apply.

Examples:
  $ mailbox settings
  $ mailbox settings set redirect-to test@example.com
  $ mailbox settings set retention sent=90d,skipped=30d,failed=365d
  $ mailbox settings unset redirect-to`,
  );
  command
    .command('list', { isDefault: true })
    .description('list every setting, its value and its default')
    .action(action(penv, (ctx) => list(ctx)));
  command
    .command('set')
    .description('set a setting')
    .argument('<key>', SETTING_KEYS.join(', '))
    .argument('<value>', 'the value (mailbox settings list says what each key accepts)')
    .action(action(penv, (ctx, _o, [key, value]) => set(ctx, key!, value!)));
  command
    .command('unset')
    .description('back to the default')
    .argument('<key>', SETTING_KEYS.join(', '))
    .action(action(penv, (ctx, _o, [key]) => unset(ctx, key!)));
}
