/**
 * Named scoring conventions. Only 'orcascore' is a published, exactly specified
 * convention (Wolterink et al., Med Phys 2016: HU >= 130, 6-connected 3D
 * components, volume > 1.5 mm^3), and it is the default.
 *
 * 'siemens' and 'ge' are APPROXIMATIONS of vendor workstation behaviour, not
 * reproductions: the vendors' implementations are closed and also apply 2D
 * rules (a minimum area per slice, often 1 mm^2, or a minimum pixel count) that
 * this scorer does not model. They only change connectivity and the minimum
 * lesion volume, so scores are close to, not equal to, what those workstations
 * report. Use them for sensitivity analyses, not for vendor equivalence claims.
 */

import { InputError } from '../base/errors.js';

export interface PresetValues {
  thresholdHU: number;
  connectivity: 6 | 26;
  minLesionVolumeMm3: number;
}

export const PRESETS: Readonly<Record<string, Readonly<PresetValues>>> = {
  orcascore: { thresholdHU: 130, connectivity: 6, minLesionVolumeMm3: 1.5 },
  // Approximation: 3D grouping with full (26) adjacency, about 1 mm^3 minimum.
  siemens: { thresholdHU: 130, connectivity: 26, minLesionVolumeMm3: 1.0 },
  // Approximation: full adjacency, smallest minimum (roughly "a few pixels"); closed source.
  ge: { thresholdHU: 130, connectivity: 26, minLesionVolumeMm3: 0.5 },
};

export const DEFAULT_PRESET = 'orcascore';

/** The values of a named preset; InputError naming the known presets otherwise. */
export function presetValues(name: string): Readonly<PresetValues> {
  const p = Object.prototype.hasOwnProperty.call(PRESETS, name) ? PRESETS[name] : undefined;
  if (p === undefined) {
    throw new InputError(`unknown scoring preset '${name}'; known presets: ${Object.keys(PRESETS).join(', ')}`);
  }
  return p;
}
