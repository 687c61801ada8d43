/**
 * Whether ops record the graph. Off inside {@link noGrad} and while backward runs.
 *
 * @module
 */

let enabled = true;

/**
 * True when ops record autograd nodes.
 *
 * @example
 * ```ts
 * import { isGradEnabled } from "./grad_mode.ts";
 * console.log(isGradEnabled()); // true
 * ```
 */
export function isGradEnabled(): boolean {
  return enabled;
}

/**
 * Runs `fn` without recording autograd nodes (like `torch.no_grad()`): use it for the teacher,
 * evaluation and optimiser updates. An async `fn` keeps the mode until it settles.
 *
 * @example
 * ```ts
 * import { isGradEnabled, noGrad } from "./grad_mode.ts";
 * noGrad(() => console.log(isGradEnabled())); // false
 * ```
 */
export function noGrad<R>(fn: () => R): R {
  const previous = enabled;
  enabled = false;
  let result: R;
  try {
    result = fn();
  } catch (error) {
    enabled = previous;
    throw error;
  }
  if (result instanceof Promise) {
    return result.finally(() => (enabled = previous)) as R;
  }
  enabled = previous;
  return result;
}

/** What {@link detach} needs of a tensor: a view without history. */
export interface Viewable<T> {
  /** Same elements, another (here: the same) shape, sharing memory. */
  view(shape: readonly number[]): T;
  /** The shape. */
  readonly shape: readonly number[];
}

/**
 * A view of `t` that shares its memory but not its history (like `torch.Tensor.detach`):
 * gradients stop there.
 *
 * @example
 * ```ts ignore
 * import { detach } from "./grad_mode.ts";
 * const target = detach(teacherOut);
 * ```
 */
export function detach<T extends Viewable<T>>(t: T): T {
  return t.view(t.shape);
}
