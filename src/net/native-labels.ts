/**
 * From the network's decisions on working-grid cells back to the scan's own
 * voxels, the way the annotation standard draws a lesion: calcium is the
 * 6-connected region of voxels >= 130 HU that holds the calcification's
 * brightest voxel.
 *
 *  - A cell is calcium of an artery when its calcium probability reaches that
 *    artery's operating point (calciumDecision).
 *  - Each calcium cell seeds the region from its brightest voxel. The region
 *    grows through voxels >= 130 HU, into the calcium cells and the cells next
 *    to them (a lesion's rim often falls in a cell the network was less sure
 *    of, and the reference keeps that rim), and no further (a plaque touching
 *    a rib does not take the rib with it).
 *  - Voxels >= 130 HU in a calcium cell but not connected to its brightest
 *    voxel stay background: noise specks beside a plaque are not part of it.
 *    At 0.9 mm pixels and 3 mm slices one such voxel would be a lesion of its
 *    own (2.4 mm³, over the 1.5 mm³ rule).
 * A region seeded by cells of several arteries takes the artery most of its
 * seeds carry (the first on a tie).
 */
import type { LabelMap, Volume } from '../io/volume.js';
import { forEachFaceNeighbour } from '../scoring/lesions.js';
import { calciumDecision } from './infer.js';

/** Which cell each voxel is in, and each cell's brightest voxel: what the labelling needs of a working grid. */
export interface CellIndex {
  /** Cells [nx, ny, nz]. */
  dims: readonly number[];
  /** Per voxel of the scan (or of a box of it): its cell, or -1 outside the working grid. */
  cellOfVoxel: Int32Array;
  /** Per cell: its brightest voxel (an index into the same scan or box), or -1. */
  maxVoxel: Int32Array;
}

/** Cells within one cell (26-neighbourhood) of a cell that `pick` picks, the picked ones included. */
function nearCells(dims: readonly number[], pick: (c: number) => boolean): Uint8Array {
  const [nx, ny, nz] = dims as [number, number, number];
  const near = new Uint8Array(nx * ny * nz);
  for (let c = 0; c < near.length; c++) {
    if (!pick(c)) continue;
    const x = c % nx;
    const y = Math.floor(c / nx) % ny;
    const z = Math.floor(c / (nx * ny));
    for (let dz = -1; dz <= 1; dz++)
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx, yy = y + dy, zz = z + dz;
          if (xx >= 0 && yy >= 0 && zz >= 0 && xx < nx && yy < ny && zz < nz) near[xx + nx * (yy + ny * zz)] = 1;
        }
  }
  return near;
}

export function nativeLabels(probabilities: Float32Array[], cells: CellIndex, ct: Volume, thresholdHU: number, calciumProbability: number | readonly number[]): LabelMap {
  const decide = calciumDecision(probabilities, calciumProbability);
  const cellLabel = Uint8Array.from({ length: probabilities[0]!.length }, (_, c) => decide(c));
  const near = nearCells(cells.dims, (c) => cellLabel[c]! > 0);
  const dims = ct.dims as [number, number, number];
  const n = ct.data.length;
  const inRegion = (v: number) => {
    const c = cells.cellOfVoxel[v]!;
    return c >= 0 && near[c]! > 0 && ct.data[v]! >= thresholdHU;
  };
  const labels = new Uint8Array(n);
  const seen = new Uint8Array(n);
  const votes = new Uint32Array(probabilities.length);
  const members: number[] = [];
  const visit = (u: number) => {
    if (!seen[u] && inRegion(u)) {
      seen[u] = 1;
      members.push(u);
    }
  };
  for (let c = 0; c < cellLabel.length; c++) {
    const seed = cells.maxVoxel[c]!;
    if (cellLabel[c] === 0 || seed < 0 || seen[seed] || !inRegion(seed)) continue;
    // One region per seed not yet reached; every calcium cell whose seed lies in it votes for its artery.
    members.length = 0;
    votes.fill(0);
    seen[seed] = 1;
    members.push(seed);
    for (let m = 0; m < members.length; m++) {
      const v = members[m]!;
      const cell = cells.cellOfVoxel[v]!;
      if (cellLabel[cell]! > 0 && cells.maxVoxel[cell] === v) votes[cellLabel[cell]!]!++;
      forEachFaceNeighbour(v, dims, visit);
    }
    let artery = 1;
    for (let a = 2; a < votes.length; a++) if (votes[a]! > votes[artery]!) artery = a;
    for (const v of members) labels[v] = artery;
  }
  return { data: labels, dims: [...ct.dims], spacing: [...ct.spacing], affine: [...ct.affine] };
}
