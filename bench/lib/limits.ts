// What limits each target when it is missed: written by hand from the measurements (the numbers in
// bench/results/latest.md), keyed by Target.key. `npm run bench -- --render` re-renders latest.md with it.
import type { Report } from './report.js';

export const LIMITS: Record<string, string> = {};

/** Attaches the analysis to every missed target of the report. */
export function applyLimits(report: Report): Report {
  for (const section of report.sections) {
    for (const target of section.targets) {
      if (target.met === false && LIMITS[target.key]) target.limit = LIMITS[target.key];
      else delete target.limit;
    }
  }
  return report;
}
