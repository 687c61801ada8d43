/**
 * Lifetime scopes: every tensor created while a scope is open is disposed when it closes, except
 * the tensors it returns and those passed to {@link keep}. One scope around a training step frees
 * every activation, saved tensor and temporary of that step.
 *
 * @module
 */

/** Anything a scope can dispose. */
export interface Disposable {
  /** Frees the object's GPU memory. */
  dispose(): void;
}

const stack: Set<Disposable>[] = [];

/** Registers a new tensor with the innermost open scope (called by the Tensor constructor). */
export function track(t: Disposable): void {
  stack[stack.length - 1]?.add(t);
}

/**
 * Removes `t` from every open scope, so it outlives them; returns `t`.
 *
 * @example
 * ```ts ignore
 * import { keep, scope } from "./scope.ts";
 * import { zeros } from "./create.ts";
 * let kept;
 * scope(() => { kept = keep(zeros([2])); });
 * ```
 */
export function keep<T extends Disposable>(t: T): T {
  for (const s of stack) s.delete(t);
  return t;
}

/**
 * Runs `fn`; disposes every tensor created meanwhile that is not in its result (a tensor, or an
 * array or plain object of tensors) and not kept. The result moves to the enclosing scope.
 * An async `fn` is awaited before the scope closes.
 *
 * @example
 * ```ts ignore
 * import { scope } from "./scope.ts";
 * import { add, ones } from "../../mod.ts";
 * const y = scope(() => add(ones([2]), ones([2]))); // the two `ones` are freed, y lives
 * ```
 */
export function scope<R>(fn: () => R): R {
  const tracked = new Set<Disposable>();
  stack.push(tracked);
  let result: R;
  try {
    result = fn();
  } catch (error) {
    close(tracked, undefined);
    throw error;
  }
  if (result instanceof Promise) {
    return result.then(
      (value) => {
        close(tracked, value);
        return value;
      },
      (error) => {
        close(tracked, undefined);
        throw error;
      },
    ) as R;
  }
  close(tracked, result);
  return result;
}

function close(tracked: Set<Disposable>, result: unknown): void {
  const index = stack.lastIndexOf(tracked);
  if (index >= 0) stack.splice(index, 1);
  const survivors = new Set<Disposable>();
  collect(result, survivors);
  const parent = stack[stack.length - 1];
  for (const t of tracked) {
    if (survivors.has(t)) parent?.add(t);
    else t.dispose();
  }
}

function collect(value: unknown, into: Set<Disposable>): void {
  if (value === null || typeof value !== "object") return;
  if ("dispose" in value && typeof value.dispose === "function") {
    into.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, into);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, into);
  }
}
