import { generatePhantom } from '/work/wt-structure/src/phantom/phantom.js';
import { locateHeart } from '/work/main/src/net/heart-locator.js';
const errs: number[] = [];
for (const split of ['train', 'heldout'] as const) for (let s = 1; s <= 8; s++) {
  let t = performance.now();
  const p = generatePhantom({ seed: s, preset: 'scanner', split });
  const gen = performance.now() - t;
  t = performance.now();
  const loc = locateHeart(p.ct);
  const m = p.meta.scanner!;
  const d = loc.centreMm.map((v, i) => v - m.heartCenterMm[i]!);
  errs.push(Math.hypot(...d));
  console.log(`${split} ${s} ${m.framing} fov ${m.fovMm.toFixed(0)} px ${m.pixelMm.toFixed(2)} dims ${p.ct.dims} ${loc.method} err [${d.map((v) => v.toFixed(0))}] |${Math.hypot(...d).toFixed(0)}| gen ${(gen / 1000).toFixed(1)}s loc ${(performance.now() - t).toFixed(0)}ms`);
}
console.log('mean', (errs.reduce((a, b) => a + b) / errs.length).toFixed(1), 'max', Math.max(...errs).toFixed(1));
