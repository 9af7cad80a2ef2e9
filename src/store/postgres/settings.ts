// The database store's own settings (table mailbox.settings): what each accepts, the value in effect
// (a value out of range, e.g. one set by hand with SQL, is not used: the default is, and `db status`
// and a worker's start say so), and `mailbox db set`.
import { invalid } from '../../core/errors.js';
import { DEFAULT_CHUNK } from './bodies.js';
import type { Database } from './connection.js';
import { SCHEMA } from './schema.js';

interface Rule {
  min: number;
  max: number;
  fallback: number;
}

export const STORE_SETTINGS = {
  body_chunk_bytes: { min: 64 * 1024, max: 64 * 1024 * 1024, fallback: DEFAULT_CHUNK },
  lease_seconds: { min: 1, max: 3600, fallback: 60 },
  claim_batch: { min: 1, max: 10_000, fallback: 64 },
  worker_concurrency: { min: 1, max: 1000, fallback: 16 },
} satisfies Record<string, Rule>;

export type StoreSettingName = keyof typeof STORE_SETTINGS;

const NAMES = Object.keys(STORE_SETTINGS) as StoreSettingName[];

function inRange(rule: Rule, value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= rule.min && value <= rule.max;
}

/** A value as kept (JSON number, or a string of one, as SQL by hand leaves it), or NaN. */
function numberOf(value: unknown): number {
  if (typeof value === 'number') return value;
  return typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
}

/** The value in effect: the stored one when it is in range, else the default. */
export function settingValue(settings: Record<string, unknown>, name: StoreSettingName): number {
  const value = numberOf(settings[name]);
  return inRange(STORE_SETTINGS[name], value) ? value : STORE_SETTINGS[name].fallback;
}

/** What is wrong with the stored settings, one sentence each (empty: nothing). */
export function settingProblems(settings: Record<string, unknown>): string[] {
  return NAMES.filter((name) => name in settings && !inRange(STORE_SETTINGS[name], numberOf(settings[name]))).map(
    (name) => `setting ${name} = ${JSON.stringify(settings[name])} is out of range (${accepted(name)}): the default ${STORE_SETTINGS[name].fallback} is used; mailbox db set ${name} VALUE`,
  );
}

function accepted(name: StoreSettingName): string {
  const { min, max } = STORE_SETTINGS[name];
  return `a whole number from ${min} to ${max}`;
}

/** The name and value of `mailbox db set`, checked: 65 naming what is accepted. */
export function checkSetting(name: string, value: string): { name: StoreSettingName; value: number } {
  if (!(NAMES as string[]).includes(name)) throw invalid('setting', name, `one of ${NAMES.join(', ')}`);
  const key = name as StoreSettingName;
  const number = numberOf(value);
  if (!inRange(STORE_SETTINGS[key], number)) throw invalid(key, value, accepted(key));
  return { name: key, value: number };
}

/** Sets one setting; returns the value it had (null: none). */
export async function setSetting(db: Database, name: StoreSettingName, value: number): Promise<unknown> {
  return db.transaction(async (client) => {
    const { rows } = await client.query<{ value: unknown }>(`SELECT value FROM ${SCHEMA}.settings WHERE name = $1 FOR UPDATE`, [name]);
    await client.query(`UPDATE ${SCHEMA}.settings SET value = $2::jsonb WHERE name = $1`, [name, JSON.stringify(value)]);
    return rows[0]?.value ?? null;
  });
}
