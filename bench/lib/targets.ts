// The targets, judged against the measured rows. Where one is missed the result says by how much;
// LIMITS says what limits it (written from what the measurements showed, see bench/results/latest.md).
import { findRow, type Section, type Target } from './results.js';

/** What limits a target when it is missed, by target key. */
export const LIMITS: Record<string, string> = {};

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

function unjudged(text: string, why: string): Target {
  return { text, met: null, measured: why };
}

/** mailbox's messages/s must be at least `factor` times `peer`'s. */
export function speedTarget(key: string, section: Section, mailbox: string, peer: string, factor: number, text: string): Target {
  const m = findRow(section, mailbox);
  const p = findRow(section, peer);
  if (!m?.rate) return unjudged(text, 'mailbox row not measured');
  if (!p?.rate) return unjudged(text, `${peer} not measured`);
  const x = m.rate / p.rate;
  const met = x >= factor;
  return {
    text,
    met,
    measured: `${fmt(x)}x (${fmt(m.rate)} vs ${fmt(p.rate)} msg/s)`,
    gap: met ? undefined : missedBy(key, `${fmt(factor / x)}x short: needs ${fmt(p.rate * factor)} msg/s, has ${fmt(m.rate)}`),
  };
}

/** The row's median must be at most `limit` (in the section's unit). */
export function ceilingTarget(key: string, section: Section, tool: string, limit: number, text: string): Target {
  const r = findRow(section, tool);
  if (!r?.median) return unjudged(text, `${tool} not measured`);
  const met = r.median <= limit;
  const unit = section.metric.unit;
  return {
    text,
    met,
    measured: `${fmt(r.median)} ${unit}`,
    gap: met ? undefined : missedBy(key, `over by ${fmt(r.median - limit)} ${unit} (${fmt(((r.median - limit) / limit) * 100)}%)`),
  };
}

/** `tool`'s median must be at most `factor` times `base`'s. */
export function relativeTarget(key: string, section: Section, tool: string, base: string, factor: number, text: string): Target {
  const r = findRow(section, tool);
  const b = findRow(section, base);
  if (!r?.median || !b?.median) return unjudged(text, `${r ? base : tool} not measured`);
  const x = r.median / b.median;
  const met = x <= factor;
  return {
    text,
    met,
    measured: `${fmt(x)}x (${fmt(r.median)} vs ${fmt(b.median)} ${section.metric.unit})`,
    gap: met ? undefined : missedBy(key, `${fmt((x / factor - 1) * 100)}% over the ${factor}x allowed`),
  };
}

export function missedBy(key: string, howMuch: string): string {
  const limit = LIMITS[key];
  return limit ? `${howMuch}. Limited by: ${limit}` : howMuch;
}

export { unjudged };
