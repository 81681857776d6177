/** CPU reference of the dropout mask: the same PCG hash of (seed, index), in JS integer arithmetic. */

function pcg(v: number): number {
  const s = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const w = Math.imul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737) >>> 0;
  return ((w >>> 22) ^ w) >>> 0;
}

/** Whether element i survives dropout with probability p under `seed`. */
export function keptRef(seed: number, i: number, p: number): boolean {
  const threshold = Math.min(0xffffffff, Math.floor(p * 2 ** 32));
  return pcg((pcg(i) ^ pcg(seed)) >>> 0) >= threshold;
}
