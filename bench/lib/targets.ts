// The targets, judged against the measured rows. Where one is missed the result says by how much;
// what limits it is added when the report is written (lib/limits.ts).
import { findRow, type Section, type Target } from './results.js';

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

export function unjudged(key: string, text: string, why: string): Target {
  return { key, text, met: null, measured: why };
}

/** mailbox's messages/s must be at least `factor` times `peer`'s. */
export function speedTarget(key: string, section: Section, mailbox: string, peer: string, factor: number, text: string): Target {
  const m = findRow(section, mailbox);
  const p = findRow(section, peer);
  if (!m?.rate) return unjudged(key, text, 'mailbox row not measured');
  if (!p?.rate) return unjudged(key, text, `${peer} not measured`);
  const x = m.rate / p.rate;
  const met = x >= factor;
  return {
    key,
    text,
    met,
    measured: `${fmt(x)}x (${fmt(m.rate)} vs ${fmt(p.rate)} msg/s)`,
    gap: met ? undefined : `${fmt(factor / x)}x (needs ${fmt(p.rate * factor)} msg/s, has ${fmt(m.rate)})`,
  };
}

/** The row's median must be at most `limit` (in the section's unit). */
export function ceilingTarget(key: string, section: Section, tool: string, limit: number, text: string): Target {
  const r = findRow(section, tool);
  if (!r?.median) return unjudged(key, text, `${tool} not measured`);
  const met = r.median <= limit;
  const unit = section.metric.unit;
  return {
    key,
    text,
    met,
    measured: `${fmt(r.median)} ${unit}`,
    gap: met ? undefined : `${fmt(r.median - limit)} ${unit} (${fmt(((r.median - limit) / limit) * 100)}% over)`,
  };
}

/** `tool`'s median must be at most `factor` times `base`'s. */
export function relativeTarget(key: string, section: Section, tool: string, base: string, factor: number, text: string): Target {
  const r = findRow(section, tool);
  const b = findRow(section, base);
  if (!r?.median || !b?.median) return unjudged(key, text, `${r ? base : tool} not measured`);
  const x = r.median / b.median;
  const met = x <= factor;
  return {
    key,
    text,
    met,
    measured: `${fmt(x)}x (${fmt(r.median)} vs ${fmt(b.median)} ${section.metric.unit})`,
    gap: met ? undefined : `${fmt((x / factor - 1) * 100)}% (${fmt(x)}x where ${factor}x is allowed)`,
  };
}
