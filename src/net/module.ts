/**
 * The module tree: named parameters (trained), named state (running statistics,
 * saved but not trained) and child modules, with train/eval mode. Parameters and
 * state live outside every memory scope until the module is disposed.
 */
import { keep } from '../gpu/scope.js';
import { Tensor, type Shape } from '../gpu/tensor.js';
import type { Runtime } from '../gpu/runtime.js';
import { requireGrad } from '../autograd/tape.js';

export abstract class Module {
  training = true;
  private readonly ownParams = new Map<string, Tensor>();
  private readonly ownState = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  constructor(readonly rt: Runtime) {}

  /** Registers a trainable parameter initialised with `data`. */
  protected param(name: string, data: Float32Array, shape: Shape): Tensor {
    const t = keep(requireGrad(Tensor.from(this.rt, data, shape), name));
    this.ownParams.set(name, t);
    return t;
  }

  /** Registers non-trained state (e.g. batch-norm running statistics). */
  protected state(name: string, data: Float32Array, shape: Shape): Tensor {
    const t = keep(Tensor.from(this.rt, data, shape));
    t.name = name;
    this.ownState.set(name, t);
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** Trainable parameters with dotted names, in a stable order. */
  namedParameters(prefix = ''): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    for (const [n, t] of this.ownParams) out.push([prefix + n, t]);
    for (const [n, c] of this.children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  namedState(prefix = ''): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    for (const [n, t] of this.ownState) out.push([prefix + n, t]);
    for (const [n, c] of this.children) out.push(...c.namedState(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  parameterCount(): number {
    return this.parameters().reduce((s, t) => s + t.size, 0);
  }

  /** This module and every descendant, depth first. */
  *modules(): Generator<Module> {
    yield this;
    for (const c of this.children.values()) yield* c.modules();
  }

  /** Switches this module and all children to training (true) or evaluation mode. */
  train(mode = true): this {
    this.training = mode;
    for (const c of this.children.values()) c.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  dispose(): void {
    for (const t of [...this.ownParams.values(), ...this.ownState.values()]) {
      t.grad?.dispose();
      t.dispose();
    }
    for (const c of this.children.values()) c.dispose();
  }
}
