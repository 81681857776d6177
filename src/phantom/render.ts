/** Rendering the anatomy onto the grid, with partial volume at tissue boundaries. */

import type { Anatomy } from './anatomy.js';
import { offsets, type Grid } from './grid.js';
import { TISSUE } from './tissue.js';

/**
 * The anatomy with partial volume. Every voxel gets its central sample; voxels
 * whose 6-neighbours (along the supersampled axes) differ from them lie on a
 * boundary and are averaged over ss[0] x ss[1] x ss[2] samples. Uniform voxels
 * skip that, which saves most of the work on a 512 x 512 grid.
 * Returns HU, the central tissue, and whether any sample hit bone.
 */
export function renderAnatomy(anat: Anatomy, g: Grid, ss: [number, number, number], coarse = false) {
  const n = g.nx * g.ny * g.nz;
  const nxy = g.nx * g.ny;
  const hu = new Float32Array(n);
  const tissue = coarse ? classifyCoarse(anat, g) : classifyCentres(anat, g);
  const boneAny = new Uint8Array(n);
  const table = anat.tissueHU;
  const lung = TISSUE.lung;
  const sampleHU = (t: number, y: number) => table[t]! + (t === lung ? anat.lungOffset(y) : 0);
  let v = 0;
  for (let k = 0; k < g.nz; k++) {
    for (let j = 0; j < g.ny; j++) {
      const y = g.oy - j * g.dy;
      for (let i = 0; i < g.nx; i++, v++) {
        const t = tissue[v]!;
        hu[v] = sampleHU(t, y);
        boneAny[v] = t === TISSUE.corticalBone || t === TISSUE.marrow ? 1 : 0;
      }
    }
  }
  const count = ss[0] * ss[1] * ss[2];
  if (count === 1) return { hu, tissue, boneAny };
  const ox = offsets(ss[0], g.dx);
  const oy = offsets(ss[1], g.dy);
  const oz = offsets(ss[2], g.dz);
  const inPlane = ss[0] > 1 || ss[1] > 1;
  const alongZ = ss[2] > 1;
  // With odd counts the middle sample is the voxel centre, already classified.
  const mid = (n: number) => (n % 2 === 1 ? (n - 1) / 2 : -1);
  const [ma, mb, mc] = [mid(ss[0]), mid(ss[1]), mid(ss[2])];
  v = 0;
  for (let k = 0; k < g.nz; k++) {
    for (let j = 0; j < g.ny; j++) {
      for (let i = 0; i < g.nx; i++, v++) {
        const t = tissue[v]!;
        const edge =
          (inPlane &&
            ((i > 0 && tissue[v - 1] !== t) ||
              (i < g.nx - 1 && tissue[v + 1] !== t) ||
              (j > 0 && tissue[v - g.nx] !== t) ||
              (j < g.ny - 1 && tissue[v + g.nx] !== t))) ||
          (alongZ && ((k > 0 && tissue[v - nxy] !== t) || (k < g.nz - 1 && tissue[v + nxy] !== t)));
        if (!edge) continue;
        const xc = g.ox - i * g.dx;
        const yc = g.oy - j * g.dy;
        const zc = g.oz + k * g.dz;
        let acc = 0;
        let bone = 0;
        for (let c = 0; c < ss[2]; c++) {
          const z = zc + oz[c]!;
          for (let b = 0; b < ss[1]; b++) {
            const y = yc - oy[b]!;
            for (let a = 0; a < ss[0]; a++) {
              const s = a === ma && b === mb && c === mc ? t : anat.classify(xc - ox[a]!, y, z);
              acc += sampleHU(s, y);
              if (s === TISSUE.corticalBone || s === TISSUE.marrow) bone = 1;
            }
          }
        }
        hu[v] = acc / count;
        boneAny[v] = bone;
      }
    }
  }
  return { hu, tissue, boneAny };
}

/** The tissue at every voxel centre. */
function classifyCentres(anat: Anatomy, g: Grid): Uint8Array {
  const tissue = new Uint8Array(g.nx * g.ny * g.nz);
  let v = 0;
  for (let k = 0; k < g.nz; k++) {
    const z = g.oz + k * g.dz;
    for (let j = 0; j < g.ny; j++) {
      const y = g.oy - j * g.dy;
      for (let i = 0; i < g.nx; i++, v++) tissue[v] = anat.classify(g.ox - i * g.dx, y, z);
    }
  }
  return tissue;
}

/** Tissues with nothing thinner than a few mm inside them (fat inside the rib cage is not: it holds the coronaries). */
const BULK = new Uint8Array(32);
for (const t of [TISSUE.air, TISSUE.lung, TISSUE.muscle, TISSUE.blood, TISSUE.myocardium, TISSUE.liver, TISSUE.abdomen]) BULK[t] = 1;

/**
 * The same on fine grids (scanner preset), classifying about 40% of the
 * centres: every other voxel along x and y first; then a voxel between two
 * samples that agree on a bulk tissue (or on fat outside the rib cage) takes
 * it, and the others are classified. The thin structures (cortex, pericardium,
 * coronaries, skin) lie between different tissues or in the fat inside the
 * cage, so they are classified where they are.
 */
function classifyCoarse(anat: Anatomy, g: Grid): Uint8Array {
  const { nx, ny } = g;
  const tissue = new Uint8Array(nx * ny * g.nz);
  const x = (i: number) => g.ox - i * g.dx;
  const y = (j: number) => g.oy - j * g.dy;
  const takes = (t: number, i: number, j: number) => BULK[t] === 1 || (t === TISSUE.fat && !anat.insideRibCage(x(i), y(j)));
  for (let k = 0; k < g.nz; k++) {
    const z = g.oz + k * g.dz;
    const base = k * nx * ny;
    for (let j = 0; j < ny; j += 2) for (let i = 0; i < nx; i += 2) tissue[base + j * nx + i] = anat.classify(x(i), y(j), z);
    // Odd columns of even rows, then odd rows: their neighbours two apart are known.
    for (let j = 0; j < ny; j += 2)
      for (let i = 1; i < nx; i += 2) {
        const v = base + j * nx + i;
        const a = tissue[v - 1]!;
        tissue[v] = i + 1 < nx && tissue[v + 1] === a && takes(a, i, j) ? a : anat.classify(x(i), y(j), z);
      }
    for (let j = 1; j < ny; j += 2)
      for (let i = 0; i < nx; i++) {
        const v = base + j * nx + i;
        const a = tissue[v - nx]!;
        tissue[v] = j + 1 < ny && tissue[v + nx] === a && takes(a, i, j) ? a : anat.classify(x(i), y(j), z);
      }
  }
  return tissue;
}
