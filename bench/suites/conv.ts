/**
 * Convolution rows: forward, dX and dW timed apart, stride 1, same padding, no
 * bias (the bias is a separate elementwise op everywhere), channels-last.
 *
 * cacnet's dX and dW are the tape's own backward closure of conv2d/conv3d,
 * called with only x (or only w) requiring a gradient: exactly the kernel a
 * training step runs. tfjs's are conv{2,3}DBackprop{Input,Filter}, the ops its
 * registered gradient calls. onnxruntime (CPU) runs the forward only.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { Tensor } from '../../src/gpu/tensor.js';
import { tidy } from '../../src/gpu/scope.js';
import { conv2d, conv3d } from '../../src/autograd/conv.js';
import { vjp } from '../../src/autograd/tape.js';
import { contender, type Contender, type Row, type Work } from '../lib/harness.js';
import { fmtShape, ours, prod, randomArray, tfjsPair, type BenchContext } from '../lib/context.js';
import { loadOrt, onnxConv } from '../lib/onnx-conv.js';

interface ConvCase {
  dims: 2 | 3;
  layer: string;
  x: number[];
  k: number;
  cout: number;
  /** Where the shape comes from. */
  origin: string;
}

/** CAC-Net's real convolution shapes (demo network on the shipped 16x64x64 patch, unless said). */
export const CONV_CASES: ConvCase[] = [
  { dims: 2, layer: '3x3 8->4', x: [16, 64, 64, 8], k: 3, cout: 4, origin: "U-DenseNet dense block, level 0: every conv-block's 3x3 (growth 4 from an 8-wide bottleneck)" },
  { dims: 2, layer: '1x1 16->8', x: [16, 64, 64, 16], k: 1, cout: 8, origin: 'U-DenseNet dense block, level 0: a conv-block bottleneck 1x1' },
  { dims: 3, layer: '3x3x3 4->4', x: [1, 16, 64, 64, 4], k: 3, cout: 4, origin: '3D U-Net level 0 (4 channels), full patch' },
  { dims: 3, layer: '3x3x3 16->16 (demo)', x: [1, 4, 16, 16, 16], k: 3, cout: 16, origin: "3D U-Net level 2, the demo network's own 16->16" },
  { dims: 3, layer: '3x3x3 16->16 (paper width)', x: [1, 8, 32, 32, 16], k: 3, cout: 16, origin: 'paper widths (16 channels at level 0) on an 8x32x32 patch: 1/8 of the shipped patch, to fit the time budget' },
];

export async function convRows(ctx: BenchContext): Promise<Row[]> {
  const { rt } = ctx;
  const ort = ctx.engines.has('onnxruntime-cpu') ? loadOrt() : null;
  const rows: Row[] = [];
  CONV_CASES.forEach((cc, ci) => {
    const cin = cc.x[cc.x.length - 1]!;
    const wShape = [...Array(cc.dims).fill(cc.k), cin, cc.cout];
    const yShape = [...cc.x.slice(0, -1), cc.cout];
    const x = randomArray(prod(cc.x), 100 + ci);
    const w = randomArray(prod(wShape), 200 + ci, -0.3, 0.3);
    const dy = randomArray(prod(yShape), 300 + ci);
    const flops = 2 * prod(yShape) * cin * cc.k ** cc.dims;
    const convOp = cc.dims === 2 ? conv2d : conv3d;
    const group = `conv${cc.dims}d`;
    const shape = `x ${fmtShape(cc.x)}, w ${fmtShape(wShape)}`;
    const base = { group, shape, roof: { kind: 'fma' as const, amount: flops } };
    const tag = (pass: 'forward' | 'dX' | 'dW') => ({ dims: cc.dims, layer: cc.layer, pass, cin, cout: cc.cout });
    const spec = (pass: 'forward' | 'dX' | 'dW') => ({ op: 'conv' as const, pass, x: cc.x, w: wShape });

    /** cacnet dX / dW: the recorded node's backward with only one input wanting a gradient. */
    const oursGrad = (which: 'x' | 'w'): Contender => ours((): Work => {
      const tx = Tensor.from(rt, x, cc.x);
      const tw = Tensor.from(rt, w, wShape);
      const tdy = Tensor.from(rt, dy, yShape);
      (which === 'x' ? tx : tw).requiresGrad = true;
      const y = convOp(tx, tw);
      return {
        run: async () => {
          // The forward ran once above; vjp walks the recorded conv node alone.
          const g = tidy(() => vjp(() => y, [which === 'x' ? tx : tw], tdy).grads[0]!);
          const o = await g.readF32();
          g.dispose();
          return o;
        },
        free: () => [y, tx, tw, tdy].forEach((t) => t.dispose()),
      };
    });

    const tfConv = (tf: NonNullable<BenchContext['tfjs']>['tf'], a: TF.Tensor, b: TF.Tensor) =>
      cc.dims === 2 ? tf.conv2d(a as TF.Tensor4D, b as TF.Tensor4D, 1, 'same') : tf.conv3d(a as TF.Tensor5D, b as TF.Tensor5D, 1, 'same');
    const tfRead = async (tf: NonNullable<BenchContext['tfjs']>['tf'], t: TF.Tensor) => {
      const d = (await t.data()) as Float32Array;
      tf.dispose(t);
      return d;
    };
    const grads = ctx.tfjs?.convGrads;

    const forwardContenders: Contender[] = [
      ours(() => {
        const tx = Tensor.from(rt, x, cc.x);
        const tw = Tensor.from(rt, w, wShape);
        return {
          run: async () => {
            const y = tidy(() => convOp(tx, tw));
            const o = await y.readF32();
            y.dispose();
            return o;
          },
          free: () => { tx.dispose(); tw.dispose(); },
        };
      }),
      ...tfjsPair(ctx, (tf) => {
        const [tx, tw] = [tf.tensor(x, cc.x), tf.tensor(w, wShape)];
        return { run: () => tfRead(tf, tfConv(tf, tx, tw)), free: () => tf.dispose([tx, tw]) };
      }),
    ];
    if (ort) {
      forwardContenders.push(contender('onnxruntime-cpu', async () => {
        const s = await onnxConv(ort, x, cc.x, w, wShape);
        return {
          run: async () => {
            const y = await s.run();
            return () => s.channelsLast(y);
          },
          free: () => void s.release(),
        };
      }));
    }

    rows.push({ ...base, name: `conv${cc.dims}d ${cc.layer} forward`, note: cc.origin, conv: tag('forward'), spec: spec('forward'), contenders: forwardContenders });
    rows.push({
      ...base, name: `conv${cc.dims}d ${cc.layer} dX`, conv: tag('dX'), spec: spec('dX'),
      contenders: [
        oursGrad('x'),
        ...tfjsPair(ctx, (tf) => {
          const [tw, tdy] = [tf.tensor(w, wShape), tf.tensor(dy, yShape)];
          const run = () => tfRead(tf, cc.dims === 2
            ? grads!.conv2DBackpropInput(cc.x as [number, number, number, number], tdy as TF.Tensor4D, tw as TF.Tensor4D, 1, 'same')
            : grads!.conv3DBackpropInput(cc.x as [number, number, number, number, number], tdy as TF.Tensor5D, tw as TF.Tensor5D, 1, 'same'));
          return { run, free: () => tf.dispose([tw, tdy]) };
        }),
      ],
    });
    rows.push({
      ...base, name: `conv${cc.dims}d ${cc.layer} dW`, conv: tag('dW'), spec: spec('dW'),
      contenders: [
        oursGrad('w'),
        ...tfjsPair(ctx, (tf) => {
          const [tx, tdy] = [tf.tensor(x, cc.x), tf.tensor(dy, yShape)];
          const run = () => tfRead(tf, cc.dims === 2
            ? grads!.conv2DBackpropFilter(tx as TF.Tensor4D, tdy as TF.Tensor4D, wShape as [number, number, number, number], 1, 'same')
            : grads!.conv3DBackpropFilter(tx as TF.Tensor5D, tdy as TF.Tensor5D, wShape as [number, number, number, number, number], 1, 'same'));
          return { run, free: () => tf.dispose([tx, tdy]) };
        }),
      ],
    });
  });
  return rows;
}
