/**
 * Scoped GPU memory. Every tensor created while a scope is open belongs to it;
 * when the scope ends, each of its tensors that is not returned (or kept) is
 * disposed and its buffer goes back to the pool. This is what keeps live GPU
 * bytes flat across training steps.
 */

export interface Scoped {
  dispose(): void;
  readonly isDisposed: boolean;
}

const stack: Array<Set<Scoped>> = [];

/** Registers a new tensor with the innermost scope, if any. */
export function track(t: Scoped): void {
  stack[stack.length - 1]?.add(t);
}

/** Removes a tensor from every open scope: the caller now owns it. */
export function keep<T extends Scoped>(t: T): T {
  for (const s of stack) s.delete(t);
  return t;
}

function collect(value: unknown, into: Set<Scoped>, seen = new Set<unknown>()): void {
  if (!value || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (typeof (value as Scoped).dispose === 'function' && 'isDisposed' in (value as object)) {
    into.add(value as Scoped);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, into, seen);
  else if (value instanceof Map) for (const v of value.values()) collect(v, into, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, into, seen);
}

function close(scope: Set<Scoped>, result: unknown): void {
  const returned = new Set<Scoped>();
  collect(result, returned);
  stack.pop();
  const parent = stack[stack.length - 1];
  for (const t of scope) {
    if (returned.has(t)) parent?.add(t);
    else if (!t.isDisposed) t.dispose();
  }
}

/**
 * Runs `fn` in a new scope. Tensors it returns (directly, or inside arrays,
 * maps and plain objects) move to the enclosing scope; the rest are disposed.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Scoped>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    close(scope, undefined);
    throw e;
  }
  if (result instanceof Promise) throw new Error('tidy() takes a synchronous function; use tidyAsync()');
  close(scope, result);
  return result;
}

/**
 * tidy() for async work (a training step that reads its loss back). Scopes are
 * a stack, so do not run two tidyAsync calls concurrently.
 */
export async function tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
  const scope = new Set<Scoped>();
  stack.push(scope);
  const depth = stack.length;
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    if (stack.length === depth) close(scope, undefined);
    throw e;
  }
  if (stack.length !== depth) throw new Error('tidyAsync scopes interleaved: do not run them concurrently');
  close(scope, result);
  return result;
}

/** Depth of open scopes (for tests). */
export function scopeDepth(): number {
  return stack.length;
}
