/**
 * The reverse-mode tape. Each differentiable op records a node: its inputs and
 * a closure that maps the output's gradient to the inputs' gradients (the
 * closure holds whatever it saved from the forward pass). backward() sorts the
 * nodes reachable from the loss topologically and walks them once each in
 * reverse, so a tensor used twice (a skip connection) gets its gradients summed
 * before its producer runs, and no subgraph is walked twice.
 */
import { CacnetError, ShapeError, fmtShape } from '../base/errors.js';
import { keep } from '../gpu/scope.js';
import { Tensor, type GradNode } from '../gpu/tensor.js';
import { accumulateInPlace, binary, clone, full } from '../kernels/elementwise.js';

export type BackwardFn = (gradOut: Tensor) => ReadonlyArray<Tensor | null>;

export class TapeNode implements GradNode {
  private static nextId = 1;
  readonly id = TapeNode.nextId++;
  constructor(
    readonly op: string,
    /** The output's tensor id (not the tensor: no cycle output -> node -> output). */
    readonly outputId: number,
    readonly inputs: readonly Tensor[],
    readonly backward: BackwardFn,
  ) {}
}

let gradEnabled = true;
/** Counts backward closures run (tests check each node runs once). */
export const tapeStats = { nodesWalked: 0 };

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording anything on the tape (inference, optimiser updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Async variant of noGrad (for an inference loop that awaits readbacks). */
export async function noGradAsync<T>(fn: () => Promise<T>): Promise<T> {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return await fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Records `output = op(inputs)` if any input needs a gradient. `backward` gets
 * dL/d(output) and returns dL/d(input) per input (null where not needed).
 */
export function record(op: string, output: Tensor, inputs: readonly Tensor[], backward: BackwardFn): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    output.requiresGrad = true;
    output.gradNode = new TapeNode(op, output.id, inputs, backward);
  }
  return output;
}

/** Marks a tensor as a leaf that wants its gradient (a parameter). */
export function requireGrad(t: Tensor, name = ''): Tensor {
  t.expectDtype('f32', 'requireGrad');
  t.requiresGrad = true;
  if (name) t.name = name;
  return t;
}

/** Nodes reachable from `root`, in topological order (producers first). */
function topoSort(root: TapeNode): TapeNode[] {
  const order: TapeNode[] = [];
  const visited = new Set<number>();
  // Iterative DFS: deep U-Nets would overflow a recursive one.
  const stack: Array<[TapeNode, number]> = [[root, 0]];
  visited.add(root.id);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [node, next] = top;
    if (next < node.inputs.length) {
      top[1]++;
      const child = node.inputs[next]!.gradNode as TapeNode | null;
      if (child && !visited.has(child.id)) {
        visited.add(child.id);
        stack.push([child, 0]);
      }
    } else {
      order.push(node);
      stack.pop();
    }
  }
  return order;
}

/**
 * Walks the graph below `root` in reverse topological order, starting from
 * its gradient `seed`, and returns the gradient that reaches each leaf (a
 * tensor no recorded op produced) and each tensor in `stopAt` (whose producer
 * is not walked), as [tensor, gradient] by tensor id. Every other gradient is
 * freed as the walk goes.
 */
function propagate(root: Tensor, seed: Tensor, stopAt: ReadonlySet<number>): Map<number, [Tensor, Tensor]> {
  const grads = new Map<number, Tensor>();
  const ends = new Map<number, Tensor>();
  const isEnd = (t: Tensor) => !t.gradNode || stopAt.has(t.id);

  const addGrad = (t: Tensor, g: Tensor): void => {
    if (g.size !== t.size) throw new CacnetError(`internal error: gradient ${fmtShape(g.shape)} for ${fmtShape(t.shape)}`);
    // Store a view: the producer may hand the same tensor to several inputs.
    const mine = g.view(t.shape);
    const prev = grads.get(t.id);
    if (!prev) {
      grads.set(t.id, mine);
    } else {
      grads.set(t.id, binary('grad-accumulate', prev, mine, 'a + b'));
      prev.dispose();
      mine.dispose();
    }
    if (isEnd(t)) ends.set(t.id, t);
  };

  if (isEnd(root)) {
    addGrad(root, seed);
  } else {
    grads.set(root.id, seed);
    for (const node of topoSort(root.gradNode as TapeNode).reverse()) {
      if (stopAt.has(node.outputId)) continue;
      const g = grads.get(node.outputId);
      if (!g) continue;
      grads.delete(node.outputId);
      tapeStats.nodesWalked++;
      const inGrads = node.backward(g);
      node.inputs.forEach((input, k) => {
        const gi = inGrads[k];
        if (gi && input.requiresGrad) addGrad(input, gi);
      });
      for (const gi of inGrads) if (gi && gi !== g) gi.dispose();
      g.dispose();
    }
  }

  const out = new Map<number, [Tensor, Tensor]>();
  for (const [id, g] of grads) {
    const end = ends.get(id);
    if (end) out.set(id, [end, g]);
    else g.dispose();
  }
  return out;
}

/**
 * Backpropagates from `loss` (a scalar unless `gradOut` is given). Leaves that
 * require grad get `.grad` set, or accumulated into if they already have one.
 * Call it once per graph: intermediate gradients are freed as the walk goes.
 */
export function backward(loss: Tensor, gradOut?: Tensor): void {
  loss.assertLive('backward');
  if (!loss.requiresGrad) throw new CacnetError('backward: the loss does not depend on any tensor that requires grad');
  if (!gradOut && loss.size !== 1) throw new ShapeError(`backward: loss ${fmtShape(loss.shape)} is not a scalar; pass its gradient`);
  if (gradOut && gradOut.size !== loss.size) throw new ShapeError(`backward: gradient ${fmtShape(gradOut.shape)} does not match loss ${fmtShape(loss.shape)}`);

  const seed = gradOut ? gradOut.view(loss.shape) : full(loss.rt, loss.shape, 1);
  for (const [leaf, g] of propagate(loss, seed, new Set()).values()) {
    if (leaf.grad && !leaf.grad.isDisposed) {
      accumulateInPlace(leaf.grad, g);
      g.dispose();
    } else {
      // A fresh buffer the leaf owns outright (g may share storage with others).
      leaf.grad = keep(clone(g));
      g.dispose();
    }
  }
}

/**
 * The vector–Jacobian product: runs `fn` on `inputs` with the tape recording
 * and returns its output and dy·∂output/∂input for each input (null where the
 * output does not depend on it). Parameters and other leaves `fn` uses keep
 * their `.grad` untouched. `fn` may also return an output recorded earlier
 * from these inputs (a benchmark timing the backward alone); the walk stops
 * at the inputs either way.
 */
export function vjp(fn: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], dy: Tensor): { output: Tensor; grads: Array<Tensor | null> } {
  const wanted = inputs.map((t) => t.requiresGrad);
  for (const t of inputs) {
    t.expectDtype('f32', 'vjp');
    t.requiresGrad = true;
  }
  try {
    const output = fn(...inputs);
    output.assertLive('vjp');
    if (dy.size !== output.size) throw new ShapeError(`vjp: dy ${fmtShape(dy.shape)} does not match the output ${fmtShape(output.shape)}`);
    const ids = new Set(inputs.map((t) => t.id));
    const reached = output.requiresGrad ? propagate(output, dy.view(output.shape), ids) : new Map<number, [Tensor, Tensor]>();
    for (const [id, [, g]] of reached) if (!ids.has(id)) g.dispose();
    return { output, grads: inputs.map((t) => reached.get(t.id)?.[1] ?? null) };
  } finally {
    inputs.forEach((t, k) => (t.requiresGrad = wanted[k]!));
  }
}
