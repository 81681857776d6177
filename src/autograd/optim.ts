/**
 * Optimisers over parameter tensors (Tensors with requiresGrad and a .grad
 * filled by backward()). step() issues one fused in-place dispatch per
 * parameter that has a gradient; nothing is read back.
 *
 * Weight decay is coupled L2 regularisation in the convention of eq. 4 (and of
 * Keras' l2(λ)): weightDecay = λ means the loss carries λ‖W‖², so 2λW is added
 * to the gradient before the update (PyTorch's weight_decay = 2λ). Optimiser
 * state (velocity, Adam moments) lives in tensors this object owns; they are
 * exempt from tidy() scopes and freed by dispose().
 */
import { CacnetError, InputError, ShapeError, fmtShape } from '../base/errors.js';
import { keep } from '../gpu/scope.js';
import { Tensor } from '../gpu/tensor.js';
import { clone, full } from '../kernels/elementwise.js';
import { adamUpdate, sgdUpdate } from '../kernels/optim.js';

export type OptimizerKind = 'sgd' | 'adam';

/** A checkpointable snapshot: the step count and each slot tensor, one per parameter in order. */
export interface OptimizerState {
  kind: OptimizerKind;
  step: number;
  slots: Record<string, Tensor[]>;
}

/** What loadState accepts: tensors (copied on the GPU) or host arrays (uploaded). */
export interface OptimizerStateInput {
  kind: OptimizerKind;
  step: number;
  slots: Record<string, ReadonlyArray<Tensor | Float32Array>>;
}

function checkNumber(op: string, name: string, v: number, lo: number, hi: number, hiOpen: boolean): void {
  const ok = Number.isFinite(v) && v >= lo && (hiOpen ? v < hi : v <= hi);
  if (!ok) throw new InputError(`${op}: ${name} must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${v}`);
}

abstract class Optimizer {
  /** Learning rate; may be changed between steps (schedules). */
  lr: number;
  /** Steps taken so far (Adam's bias correction uses it). */
  stepCount = 0;
  readonly params: readonly Tensor[];
  protected readonly slots: Record<string, Tensor[]> = {};
  private disposed = false;

  protected constructor(
    readonly kind: OptimizerKind,
    params: readonly Tensor[],
    lr: number,
    slotNames: readonly string[],
  ) {
    const op = this.kind;
    if (!Array.isArray(params) || params.length === 0) throw new InputError(`${op}: no parameters given`);
    const buffers = new Set<GPUBuffer>();
    params.forEach((p, k) => {
      if (!(p instanceof Tensor)) throw new InputError(`${op}: parameter ${k} is not a Tensor`);
      p.assertLive(`${op} (parameter ${k})`);
      p.expectDtype('f32', `${op} (parameter ${k})`);
      if (!p.requiresGrad) throw new InputError(`${op}: parameter ${k} ${p.name ? `'${p.name}' ` : ''}${fmtShape(p.shape)} does not require grad (call requireGrad on it)`);
      if (buffers.has(p.buffer)) throw new InputError(`${op}: parameter ${k} ${fmtShape(p.shape)} is given twice (or shares memory with another parameter)`);
      buffers.add(p.buffer);
    });
    this.params = [...params];
    this.lr = lr;
    for (const name of slotNames) this.slots[name] = this.params.map((p) => keep(full(p.rt, p.shape, 0)));
  }

  /** One update of every parameter that has a gradient (parameters without one are skipped). */
  step(): void {
    this.assertUsable('step');
    checkNumber(this.kind, 'lr', this.lr, 0, Infinity, true);
    this.stepCount++;
    this.params.forEach((p, k) => {
      if (p.grad) this.update(p, p.grad, k);
    });
  }

  protected abstract update(p: Tensor, g: Tensor, k: number): void;

  /** Frees every parameter's gradient (the next backward() writes a fresh one). */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Copies of the state for a checkpoint; the caller owns (and disposes) the tensors. */
  state(): OptimizerState {
    this.assertUsable('state');
    const slots: Record<string, Tensor[]> = {};
    for (const [name, ts] of Object.entries(this.slots)) slots[name] = ts.map((t) => clone(t));
    return { kind: this.kind, step: this.stepCount, slots };
  }

  /** Restores a state() snapshot (or one read from disk); the input is copied, not adopted. */
  loadState(s: OptimizerStateInput): void {
    const op = `${this.kind} loadState`;
    this.assertUsable('loadState');
    if (s.kind !== this.kind) throw new InputError(`${op}: the state is for ${s.kind}, not ${this.kind}`);
    if (!Number.isInteger(s.step) || s.step < 0) throw new InputError(`${op}: step must be an integer >= 0, got ${s.step}`);
    const want = Object.keys(this.slots).sort();
    const got = Object.keys(s.slots).sort();
    if (want.join() !== got.join()) throw new InputError(`${op}: expected state slots [${want.join(', ')}], got [${got.join(', ')}]`);
    // Validate everything before writing anything.
    for (const name of want) {
      const src = s.slots[name]!;
      if (src.length !== this.params.length) throw new InputError(`${op}: slot '${name}' has ${src.length} tensors for ${this.params.length} parameters`);
      src.forEach((t, k) => {
        const p = this.params[k]!;
        if (t instanceof Tensor) {
          t.assertLive(op);
          t.expectDtype('f32', op);
        }
        const n = t instanceof Tensor ? t.size : t.length;
        if (n !== p.size) throw new ShapeError(`${op}: slot '${name}' entry ${k} has ${n} values for parameter ${fmtShape(p.shape)}`);
      });
    }
    for (const name of want) {
      s.slots[name]!.forEach((t, k) => {
        const dst = this.slots[name]![k]!;
        if (t instanceof Tensor) dst.rt.copy(t.buffer, dst.buffer, dst.byteLength);
        else if (t.length > 0) dst.rt.write(dst.buffer, t);
      });
    }
    this.stepCount = s.step;
  }

  /** Frees the optimiser's state tensors (not the parameters or their gradients). */
  dispose(): void {
    for (const ts of Object.values(this.slots)) for (const t of ts) t.dispose();
    this.disposed = true;
  }

  private assertUsable(what: string): void {
    if (this.disposed) throw new CacnetError(`${this.kind}.${what}: the optimiser was disposed`);
  }
}

export interface SgdOptions {
  lr: number;
  /** Heavy-ball momentum μ in [0, 1): v ← μv + g, W ← W − lr·v. Default 0 (no velocity kept). */
  momentum?: number;
  /** Nesterov momentum: W ← W − lr·(g + μv). Default false. */
  nesterov?: boolean;
  /** λ of a λ‖W‖² loss term: adds 2λW to the gradient. Default 0. */
  weightDecay?: number;
}

/** Stochastic gradient descent with optional (Nesterov) momentum and L2. */
export class Sgd extends Optimizer {
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;

  constructor(params: readonly Tensor[], opts: SgdOptions) {
    const momentum = opts.momentum ?? 0;
    checkNumber('sgd', 'lr', opts.lr, 0, Infinity, true);
    checkNumber('sgd', 'momentum', momentum, 0, 1, true);
    checkNumber('sgd', 'weightDecay', opts.weightDecay ?? 0, 0, Infinity, true);
    if (opts.nesterov && momentum === 0) throw new InputError('sgd: nesterov needs a momentum > 0');
    super('sgd', params, opts.lr, momentum > 0 ? ['velocity'] : []);
    this.momentum = momentum;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
  }

  protected update(p: Tensor, g: Tensor, k: number): void {
    sgdUpdate(p, g, this.slots['velocity']?.[k] ?? null, {
      lr: this.lr,
      momentum: this.momentum,
      nesterov: this.nesterov,
      decay: 2 * this.weightDecay,
    });
  }
}

export interface AdamOptions {
  /** Default 1e-3. */
  lr?: number;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-8. */
  eps?: number;
  /** λ of a λ‖W‖² loss term: adds 2λW to the gradient (coupled, not AdamW). Default 0. */
  weightDecay?: number;
}

/**
 * Adam (Kingma & Ba) with bias correction:
 *   m ← β1 m + (1−β1) g,  v ← β2 v + (1−β2) g²,
 *   W ← W − lr · (m / (1−β1^t)) / (√(v / (1−β2^t)) + ε).
 * t counts step() calls.
 */
export class Adam extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;

  constructor(params: readonly Tensor[], opts: AdamOptions = {}) {
    const o = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, ...opts };
    checkNumber('adam', 'lr', o.lr, 0, Infinity, true);
    checkNumber('adam', 'beta1', o.beta1, 0, 1, true);
    checkNumber('adam', 'beta2', o.beta2, 0, 1, true);
    checkNumber('adam', 'eps', o.eps, 0, Infinity, true);
    if (o.eps === 0) throw new InputError('adam: eps must be > 0');
    checkNumber('adam', 'weightDecay', o.weightDecay, 0, Infinity, true);
    super('adam', params, o.lr, ['m', 'v']);
    this.beta1 = o.beta1;
    this.beta2 = o.beta2;
    this.eps = o.eps;
    this.weightDecay = o.weightDecay;
  }

  protected update(p: Tensor, g: Tensor, k: number): void {
    adamUpdate(p, g, this.slots['m']![k]!, this.slots['v']![k]!, {
      lr: this.lr,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      decay: 2 * this.weightDecay,
      step: this.stepCount,
    });
  }
}
