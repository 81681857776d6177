/**
 * Issue 3's end-to-end check of the kernels working together: a small 3D U-Net
 * (conv3d, group norm, max pooling, trilinear up-sampling, concatenation,
 * softmax + Dice) trained with Adam on a toy segmentation task.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, tidy } from '../src/gpu/index.js';
import { backward, noGrad } from '../src/autograd/tape.js';
import { softmaxDice } from '../src/autograd/loss.js';
import { Adam } from '../src/autograd/optim.js';
import { mulberry32 } from '../src/base/random.js';
import { InitStream } from '../src/net/init.js';
import { UNet } from '../src/net/unet.js';
import { gpuFamily } from './helpers/gpu.js';

const SHAPE = [8, 16, 16] as const;

/** Noisy volumes with two kinds of blob: bright cubes (class 1) and dim cubes (class 2). */
function toyVolume(seed: number): { x: Float32Array; y: Uint32Array } {
  const [d, h, w] = SHAPE;
  const r = mulberry32(seed);
  const x = new Float32Array(d * h * w).map(() => 0.1 * r());
  const y = new Uint32Array(d * h * w);
  for (let b = 0; b < 4; b++) {
    const cls = (b % 2) + 1;
    const [cz, cy, cx] = [1 + Math.floor(r() * (d - 3)), 2 + Math.floor(r() * (h - 5)), 2 + Math.floor(r() * (w - 5))];
    for (let k = cz; k < cz + 2; k++) for (let j = cy; j < cy + 3; j++) for (let i = cx; i < cx + 3; i++) {
      const v = (k * h + j) * w + i;
      x[v] = cls === 1 ? 0.9 + 0.1 * r() : 0.45 + 0.1 * r();
      y[v] = cls;
    }
  }
  return { x, y };
}

// Each kernel family, forced (SwiftShader runs both): the GPU family's tiled kernels train too.
describe.each(['swiftshader', 'gpu'] as const)('toy 3D segmentation, %s kernels', (family) => {
  it('a small 3D U-Net trained with Adam reaches Dice > 0.9 with flat GPU memory', async () => {
    const rt = await gpuFamily(family);
    const net = new UNet(rt, new InitStream(2), { dims: 3, inChannels: 1, levels: 2, baseChannels: 8, groups: 2, dropout: 0, skips: true, classes: 3, supervisedLevels: 0 });
    const opt = new Adam(net.parameters(), { lr: 1e-2 });
    const live: number[] = [];
    for (let step = 0; step < 80; step++) {
      const b = toyVolume(step % 16);
      tidy(() => {
        const out = net.forward(Tensor.from(rt, b.x, [1, ...SHAPE, 1])).out;
        backward(softmaxDice(out, Tensor.from(rt, b.y, [1, ...SHAPE], 'u32')).loss);
      });
      opt.step();
      opt.zeroGrad();
      await rt.sync();
      live.push(rt.memory().liveBytes);
    }
    expect(new Set(live.slice(1)).size).toBe(1);
    // Held-out volume: Dice of each foreground class from the argmax prediction.
    net.eval();
    const test = toyVolume(1000);
    const probs = noGrad(() => tidy(() => net.forward(Tensor.from(rt, test.x, [1, ...SHAPE, 1])).out));
    const p = await probs.readF32();
    probs.dispose();
    for (const cls of [1, 2]) {
      let inter = 0, pred = 0, truth = 0;
      for (let v = 0; v < test.y.length; v++) {
        let best = 0;
        for (let c = 1; c < 3; c++) if (p[v * 3 + c]! > p[v * 3 + best]!) best = c;
        if (best === cls) pred++;
        if (test.y[v] === cls) truth++;
        if (best === cls && test.y[v] === cls) inter++;
      }
      expect((2 * inter) / (pred + truth), `class ${cls}`).toBeGreaterThan(0.9);
    }
    opt.dispose();
    net.dispose();
  }, 600_000); // 80 training steps on a CPU adapter: minutes on a loaded machine
});
