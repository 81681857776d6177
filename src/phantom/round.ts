/** Numbers in meta rounded to 0.001 (short JSON, stable across engines). */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
