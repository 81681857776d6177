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
export function renderAnatomy(anat: Anatomy, g: Grid, ss: [number, number, number]) {
  const n = g.nx * g.ny * g.nz;
  const nxy = g.nx * g.ny;
  const hu = new Float32Array(n);
  const tissue = new Uint8Array(n);
  const boneAny = new Uint8Array(n);
  const table = anat.tissueHU;
  const lung = TISSUE.lung;
  const sampleHU = (t: number, y: number) => table[t]! + (t === lung ? anat.lungOffset(y) : 0);
  let v = 0;
  for (let k = 0; k < g.nz; k++) {
    const z = g.oz + k * g.dz;
    for (let j = 0; j < g.ny; j++) {
      const y = g.oy - j * g.dy;
      for (let i = 0; i < g.nx; i++, v++) {
        const t = anat.classify(g.ox - i * g.dx, y, z);
        tissue[v] = t;
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
              const s = anat.classify(xc - ox[a]!, y, z);
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
