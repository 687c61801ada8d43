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
