/**
 * Network configurations. The paper fixes the structure (section 2) but leaves
 * most widths out; where it is silent we choose, and say so here.
 */
import { DEFAULT_WORKING_GRID, type WorkingGridSpec } from './working-grid.js';

export type Variant = 'cacnet' | 'fcn' | 'unet3d' | 'udensenet' | 'twofold';

export const VARIANTS: Record<Variant, string> = {
  cacnet: 'CAC-Net: 2D U-DenseNet -> 3D U-Net (the paper)',
  fcn: '3D FCN: the 3D U-Net without skip connections or deep supervision (Table 4 baseline)',
  unet3d: '3D U-Net alone on the CT (Table 4)',
  udensenet: '2D U-DenseNet alone, slice by slice (Table 4)',
  twofold: 'Twofold U-Net: 2D U-Net -> 3D U-Net (Table 4)',
};

export interface NetConfig {
  variant: Variant;
  /** Output classes: background, LAD (incl. left main), LCX, RCA. */
  classes: number;
  /** Channels of each multi-scale input convolution (3x3, 5x5, 7x7). Paper: not given. */
  inputChannels2d: number;
  /** Conv-blocks per dense block: down, bottleneck, up. Paper: 3, 4, 5, 6, 5, 4, 3. */
  denseBlocks: number[];
  /** New feature maps per conv-block. Paper: not given (DenseNet-BC uses 12-32). */
  growthRate: number;
  /** Width of each conv-block's 1x1 bottleneck, as a multiple of the growth rate (DenseNet-BC: 4). */
  bottleneckFactor: number;
  /** Dropout after every 2D convolution. Paper: 0.5. */
  dropout2d: number;
  /** Levels of the 3D U-Net. Paper: 5. */
  levels3d: number;
  /** Feature maps at the first 3D level; doubled at each level below. Paper: not given. */
  baseChannels3d: number;
  /** Group-norm groups (fewer where channels are fewer). Paper: GN, groups not given. */
  groups3d: number;
  /** Dropout after every 3D convolution. Paper: placement not given; we follow the contracting-path text. */
  dropout3d: number;
  /**
   * Deep-supervision weights, finest (the final output) first, one per
   * expanding level that has a head. Paper (eq. 4): weights not given.
   */
  supervisionWeights: number[];
  /** Dice smoothing term of eq. 3. */
  diceSmooth: number;
  /** L2 coefficient λ of eq. 4 (applied as weight decay 2λW). */
  l2: number;
  /**
   * Also give the 3D U-Net the normalised CT itself, beside the 2D stage's
   * features (CAC-Net and Twofold only). Not in the paper, which feeds the 3D
   * module the 2D features alone; it lets the 3D stage see intensity directly
   * instead of through every 2D layer.
   */
  imageTo3d?: boolean;
  /**
   * Input channels per voxel (default 1, the CT). Networks that run on the
   * working grid (working-grid.ts) take 2: the mean and the max HU of each cell.
   */
  inputChannels?: number;
  /** When set, the network runs on this working grid around the located heart, not on the scan's own grid (scan-inference.ts). */
  workingGrid?: WorkingGridSpec;
  /** HU window for the paper's min–max normalisation. */
  huWindow: { lo: number; hi: number };
  seed: number;
}

/** Widths as we read the paper, for a GPU: the configuration whose size the README quotes. */
export const PAPER_CONFIG: NetConfig = {
  variant: 'cacnet',
  classes: 4,
  inputChannels2d: 16,
  denseBlocks: [3, 4, 5, 6, 5, 4, 3],
  growthRate: 16,
  bottleneckFactor: 4,
  dropout2d: 0.5,
  levels3d: 5,
  baseChannels3d: 16,
  groups3d: 8,
  dropout3d: 0.5,
  supervisionWeights: [1, 0.5, 0.25],
  diceSmooth: 1,
  l2: 1e-5,
  huWindow: { lo: -200, hi: 800 },
  seed: 1,
};

/**
 * The shipped demo network: the paper's structure (every block, every level)
 * at widths a CPU adapter trains in minutes. Dropout is lowered from 0.5:
 * at four feature maps per layer, halving them at random starves the net.
 */
export const DEMO_CONFIG: NetConfig = {
  ...PAPER_CONFIG,
  inputChannels2d: 4,
  growthRate: 4,
  bottleneckFactor: 2,
  dropout2d: 0.1,
  levels3d: 4,
  baseChannels3d: 4,
  groups3d: 2,
  dropout3d: 0.1,
  supervisionWeights: [1, 0.5, 0.25],
  imageTo3d: true,
};

/**
 * The scanner-resolution network: the demo widths on the working grid (2 x 2
 * x 3 mm cells, 176 mm around the heart), fed the mean and max HU of each cell.
 */
export const SCANNER_CONFIG: NetConfig = {
  ...DEMO_CONFIG,
  inputChannels: 2,
  workingGrid: DEFAULT_WORKING_GRID,
};

/** A very small network for gradient checks and unit tests. */
export const TINY_CONFIG: NetConfig = {
  ...PAPER_CONFIG,
  inputChannels2d: 2,
  denseBlocks: [1, 1, 1, 1, 1, 1, 1],
  growthRate: 2,
  bottleneckFactor: 1,
  dropout2d: 0,
  levels3d: 2,
  baseChannels3d: 2,
  groups3d: 1,
  dropout3d: 0,
  supervisionWeights: [1, 0.5],
};

export const CONFIGS: Record<string, NetConfig> = { paper: PAPER_CONFIG, demo: DEMO_CONFIG, scanner: SCANNER_CONFIG, tiny: TINY_CONFIG };

/** Patch depth/height/width must be divisible by this for the network's poolings. */
export function sizeMultiple(c: NetConfig): { depth: number; plane: number } {
  const pool2d = 2 ** Math.floor((c.denseBlocks.length - 1) / 2);
  const pool3d = 2 ** (c.levels3d - 1);
  const uses2d = c.variant === 'cacnet' || c.variant === 'udensenet' || c.variant === 'twofold';
  const uses3d = c.variant !== 'udensenet';
  return { depth: uses3d ? pool3d : 1, plane: Math.max(uses2d ? pool2d : 1, uses3d ? pool3d : 1) };
}

/**
 * Checks a configuration read from a file before a network is built from it:
 * every field of the right type and within bounds a CAC-Net can have, so a
 * corrupt file is refused in words instead of failing (or allocating without
 * limit) inside the constructor. Returns the reason, or null when it is sound.
 */
export function netConfigProblem(c: unknown): string | null {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return 'not an object';
  const r = c as Record<string, unknown>;
  const int = (k: string, lo: number, hi: number) => (Number.isInteger(r[k]) && (r[k] as number) >= lo && (r[k] as number) <= hi ? null : `${k} must be an integer from ${lo} to ${hi}, got ${JSON.stringify(r[k])}`);
  const frac = (k: string) => (typeof r[k] === 'number' && (r[k] as number) >= 0 && (r[k] as number) < 1 ? null : `${k} must be a number in [0, 1), got ${JSON.stringify(r[k])}`);
  const nonNegative = (k: string) => (typeof r[k] === 'number' && Number.isFinite(r[k]) && (r[k] as number) >= 0 ? null : `${k} must be a finite number >= 0, got ${JSON.stringify(r[k])}`);
  const blocks = r.denseBlocks;
  const weights = r.supervisionWeights;
  const hu = r.huWindow as { lo?: unknown; hi?: unknown } | undefined;
  const problems = [
    typeof r.variant === 'string' && r.variant in VARIANTS ? null : `variant must be one of ${Object.keys(VARIANTS).join(', ')}, got ${JSON.stringify(r.variant)}`,
    int('classes', 2, 64), int('inputChannels2d', 1, 1024), int('growthRate', 1, 1024), int('bottleneckFactor', 1, 16),
    int('levels3d', 1, 8), int('baseChannels3d', 1, 1024), int('groups3d', 1, 1024), int('seed', 0, 2 ** 32 - 1),
    Array.isArray(blocks) && blocks.length % 2 === 1 && blocks.length <= 15 && blocks.every((b) => Number.isInteger(b) && b >= 1 && b <= 64) ? null : 'denseBlocks must be an odd number (at most 15) of block sizes from 1 to 64',
    Array.isArray(weights) && weights.length >= 1 && weights.length <= 8 && weights.every((w) => typeof w === 'number' && Number.isFinite(w)) ? null : 'supervisionWeights must be 1 to 8 finite numbers',
    frac('dropout2d'), frac('dropout3d'), nonNegative('diceSmooth'), nonNegative('l2'),
    r.imageTo3d === undefined || typeof r.imageTo3d === 'boolean' ? null : 'imageTo3d must be true or false',
    typeof hu?.lo === 'number' && typeof hu.hi === 'number' && Number.isFinite(hu.lo) && Number.isFinite(hu.hi) && hu.lo < hu.hi ? null : 'huWindow must be { lo, hi } with finite lo < hi',
  ];
  return problems.find((p) => p !== null) ?? null;
}
