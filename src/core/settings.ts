// Store-wide operating settings (config.json `settings`, `mailbox settings`, export/apply): the pause
// switches, the test redirect, the inbound guards and the retention. Kept as the words the admin
// typed (normalised), read through settingsOf() by whoever acts on them; no I/O here.
import { BOXES, EMAIL_STATES, type Box, type EmailState } from './email.js';
import { invalid, MailboxError, shown } from './errors.js';
import { isAddress } from './validate.js';

export type SettingKey = (typeof SETTING_KEYS)[number];
export type SettingsMap = Partial<Record<SettingKey, string>>;

export const GUARDS = ['auto-submitted', 'delivery-status', 'spam-flag', 'loop'] as const;
export type Guard = (typeof GUARDS)[number];

interface SettingRule {
  /** What is accepted, for messages and `settings list`. */
  accepted: string;
  default: string;
  /** The normalised value; throws `invalid` naming the key. */
  parse: (value: string, key: string) => string;
}

const onOff = (value: string, key: string): string => {
  const v = value.trim().toLowerCase();
  if (v === 'on' || v === 'off') return v;
  throw invalid(key, value, 'on or off');
};

const ON_OFF: SettingRule = { accepted: 'on or off', default: 'on', parse: onOff };

/** Boxes and states retention may name: never the outbox (queued mail is never pruned). */
export const RETAINED: readonly Retained[] = [...new Set<Retained>([...BOXES.filter((b) => b !== 'outbox'), ...EMAIL_STATES.filter((s) => s !== 'send-ready' && s !== 'send-retry-backoff')])];
export type Retained = Box | EmailState;

const RULES = {
  reading: { ...ON_OFF, accepted: 'on or off (off pauses every read cycle)' },
  sending: { ...ON_OFF, accepted: 'on or off (off pauses every send cycle; queued mail stays send-ready)' },
  'redirect-to': {
    accepted: 'an email address every outgoing message is sent to instead of its recipients (a test instance)',
    default: '',
    parse: (value: string, key: string) => {
      const v = value.trim();
      if (!isAddress(v)) throw invalid(key, value, 'an email address such as test@example.com');
      return v;
    },
  },
  'guard-auto-submitted': { ...ON_OFF, accepted: 'on or off (skip mail with Auto-Submitted other than no: auto-replies)' },
  'guard-delivery-status': { ...ON_OFF, accepted: 'on or off (skip delivery status reports: bounces)' },
  'guard-spam-flag': { ...ON_OFF, accepted: 'on or off (skip mail marked X-Spam-Flag: YES)' },
  'guard-loop': { ...ON_OFF, accepted: 'on or off (skip mail whose Message-ID this mailbox sent: a loop)' },
  retention: {
    accepted: `BOX=AGE pairs separated by commas, such as sent=90d,skipped=30d,failed=365d (BOX one of ${RETAINED.join(', ')}; AGE a number with s, m, h, d or w)`,
    default: '',
    parse: (value: string, key: string) => formatRetention(parseRetention(value, key)),
  },
} satisfies Record<string, SettingRule>;

export const SETTING_KEYS = Object.keys(RULES) as Array<keyof typeof RULES>;

export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(RULES, key);
}

export function settingRule(key: SettingKey): SettingRule {
  return RULES[key];
}

/** The key checked (65 naming the accepted keys), lower-cased. */
export function parseSettingKey(key: string): SettingKey {
  const k = key.trim().toLowerCase();
  if (!isSettingKey(k)) throw invalid('setting', key, `one of ${SETTING_KEYS.join(', ')}`);
  return k;
}

/** The value as stored, checked against the key's rule (65 naming the key and what is accepted). */
export function parseSetting(key: SettingKey, value: string): string {
  return RULES[key].parse(value, key);
}

/** The `settings` object of a config or document, every value checked; absent -> {}. */
export function parseSettingsMap(raw: unknown): SettingsMap {
  if (raw === undefined) return {};
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new MailboxError('EVALUE', '"settings" must be an object of KEY: "VALUE"', { field: 'settings' });
  const out: SettingsMap = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const k = parseSettingKey(key);
    if (typeof value !== 'string') throw invalid(k, value, settingRule(k).accepted);
    out[k] = parseSetting(k, value);
  }
  return out;
}

const AGE_UNITS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;
const MAX_AGE_MS = 100 * 365 * 86_400_000;

/** An age such as 90d, 12h, 2w (from `minMs` to a hundred years) -> milliseconds. */
export function parseAge(value: unknown, field: string, minMs = 60_000): number {
  const match = typeof value === 'string' ? /^\s*(\d{1,9})\s*([smhdw])\s*$/i.exec(value) : null;
  const ms = match ? Number(match[1]) * AGE_UNITS[match[2]!.toLowerCase() as keyof typeof AGE_UNITS] : NaN;
  if (!(ms >= minMs && ms <= MAX_AGE_MS)) throw invalid(field, value, `an age from ${formatAge(minMs)} to 36500d (a hundred years), such as 30m, 12h, 90d or 2w`);
  return ms;
}

function formatAge(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) if (ms % AGE_UNITS[unit] === 0) return `${ms / AGE_UNITS[unit]}${unit}`;
  return `${Math.round(ms / 60_000)}m`;
}

/** "sent=90d,skipped=30d" -> { sent: 90 days, skipped: 30 days } (boxes or states; never the outbox). */
export function parseRetention(value: string, key = 'retention'): Partial<Record<Retained, number>> {
  const out: Partial<Record<Retained, number>> = {};
  const parts = value.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw invalid(key, value, RULES.retention.accepted);
  for (const part of parts) {
    const [name, age, extra] = part.split('=').map((s) => s.trim().toLowerCase());
    if (extra !== undefined || !name || !age || !(RETAINED as readonly string[]).includes(name)) throw invalid(key, value, RULES.retention.accepted);
    // Seconds are allowed (a test instance may keep nothing); the usual ages are days.
    out[name as Retained] = parseAge(age, `${key} ${name}`, 1000);
  }
  return out;
}

function formatRetention(r: Partial<Record<Retained, number>>): string {
  return Object.entries(r).map(([name, ms]) => `${name}=${formatAge(ms!)}`).join(',');
}

/** What the settings mean, defaults filled in. */
export interface Settings {
  readingPaused: boolean;
  sendingPaused: boolean;
  redirectTo: string | null;
  guards: Record<Guard, boolean>;
  /** Age limit by box or state; empty: nothing is pruned by the runner. */
  retention: Partial<Record<Retained, number>>;
}

export function settingsOf(map: SettingsMap | undefined): Settings {
  const m = map ?? {};
  return {
    readingPaused: m.reading === 'off',
    sendingPaused: m.sending === 'off',
    redirectTo: m['redirect-to'] || null,
    guards: Object.fromEntries(GUARDS.map((g) => [g, m[`guard-${g}`] !== 'off'])) as Record<Guard, boolean>,
    retention: m.retention ? parseRetention(m.retention) : {},
  };
}

/** What is paused, in words: [] when nothing is. */
export function pausedJobs(settings: Pick<Settings, 'readingPaused' | 'sendingPaused'>): Array<'reading' | 'sending'> {
  return [...(settings.readingPaused ? (['reading'] as const) : []), ...(settings.sendingPaused ? (['sending'] as const) : [])];
}

/** `settings` with `key` set (or, with undefined, unset); the key left out when unset. */
export function withSetting(settings: SettingsMap | undefined, key: SettingKey, value: string | undefined): SettingsMap {
  const next: SettingsMap = { ...settings };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}

